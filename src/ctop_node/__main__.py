from ctop_node.cli import main

main()
