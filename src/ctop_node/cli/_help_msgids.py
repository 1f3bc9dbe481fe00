"""Every paragraph of the CLI's help texts, marked for extraction.

Help texts stay English in the code and are translated when shown (``_lazy.translate_help``
looks up each paragraph, the ``\\b`` Examples block excepted). Command docstrings cannot carry
``N_``, so ``pybabel extract`` (``make i18n``) would not see them and ``pybabel update`` would
mark their translations obsolete: this tuple marks them, option helps included, by the command
that shows them first. ``tests/unit/cli/test_cli_help_i18n.py`` fails, naming the paragraph,
when a help text is missing here; add it, then its ru, kk and zh translations.
"""

from __future__ import annotations

from ctop_node.i18n import N_

MSGIDS = (
    # serve
    N_("Run the node: the peer endpoint (mutual TLS), the internal API and the sender."),
    N_("Node home directory (default: $CTOP_HOME or ./.ctop)."),
    N_("Database URL (default: SQLite in the node home)."),
    N_("Address of the peer port (mutual TLS), e.g. 0.0.0.0 [127.0.0.1]."),
    N_("Address of the internal API (bearer token) [127.0.0.1]."),
    N_("TLS certificate (PEM) of the internal API."),
    N_("TLS private key (PEM) of the internal API."),
    N_("Peer port: open connections at most, handshakes included [256]."),
    N_("Peer port: seconds to complete the TLS handshake [10]."),
    N_("Peer port: seconds to send a request body [60]."),
    N_("Peer port: idle seconds between requests [5]."),
    N_("Least severe level logged."),
    N_("text, or json: one object per line (time, level, event, code, peer, message_id)."),
    N_(
        "Largest upload the internal API takes, in bytes (default: node.json "
        "api_max_upload_bytes, else 64 MiB); larger ones get 413."
    ),
    # tc versions
    N_("List the technical-conditions versions this node knows."),
    N_("Machine-readable JSON output."),
    # tc schema
    N_("Print the JSON Schema of every message type of a version (what the node enforces)."),
    N_("Version (default: latest)."),
    # tc validate
    N_("Validate records against the technical conditions without storing anything."),
    N_("Files of records to check."),
    N_("Format of the files (default: by their extension)."),
    # tc xsd
    N_("Print the XSD of the XML form of a record."),
    # tc doc
    N_(
        "Write the technical conditions as a document (HTML and Markdown), with the JSON "
        "Schema and the XSD it refers to."
    ),
    N_("Directory to write the document into."),
    N_("Language (repeatable; default: all)."),
    N_("Skip the Markdown copy."),
    # tc diff
    N_("List the message types, fields and rules added, removed or changed between versions."),
    N_("Older version."),
    N_("Newer version."),
    # ingest
    N_("Read export-clearance records, check them, apply the Protocol's rules and store them."),
    N_("Files to ingest."),
    N_("This node's Party (ISO 3166 code, e.g. KZ)."),
    # watch
    N_(
        "Watch a folder: ingest each file, then move it to done/ or failed/ (see docs/security.md)."
    ),
    N_("With --once the exit status is 1 when a file failed or a record was rejected."),
    N_("Folder the clearance system drops files into."),
    N_("Seconds between scans."),
    N_(
        "Seconds a file must stay unchanged before it is taken (files are expected to be "
        "renamed into the folder when complete)."
    ),
    N_("Process what is there, then stop."),
    # records list
    N_("List stored records, latest version of each, most recently stored first."),
    N_("Only records whose latest version has this outcome."),
    N_("At most this many."),
    N_("Who is acting: a user of the node (default: $CTOP_USER); $CTOP_TOKEN wins."),
    N_("Why the data is used: it is audited."),
    # records show
    N_("Show every version of a record and the body of one of them."),
    N_("The record's identifier."),
    N_("Version to show (default: latest)."),
    N_("Origin Party, when two Parties used the same id."),
    # records export
    N_(
        "Export records to a file. Peer data for a purpose other than customs control needs a"
        " valid consent of the Party that provided it; refusals and exports are audited."
    ),
    N_("File to create (must not exist; 0600)."),
    N_("Export this record (latest version); repeat. Default: all."),
    N_("Reference of the consent to export under."),
    # sample
    N_(
        "Write realistic, deterministic sample records: trains of containers over the KZ-CN border."
    ),
    N_("Number of trains."),
    N_("Seed: same seed, same bytes."),
    N_("Records of this Party's node only (default: both)."),
    N_("Output file (default: standard output)."),
    N_("Output format."),
    N_("Share of records with one deliberate error."),
    N_("Share of postal / personal-use records."),
    N_("Share of trains not for the peer (Art.2)."),
    N_("Share of records flagged state secret."),
    N_("First train's time, ISO 8601 (default: 2026-11-25T00:00:00+00:00)."),
    # demo
    N_("Start a KZ and a CN node on loopback and exchange sample trains between them."),
    N_("Where the demo nodes live."),
    N_("Trains per Party."),
    N_("Seed of the sample data."),
    N_("Exchange, report, stop."),
    N_("Seconds to wait for the nodes to start and for delivery."),
    N_("First: one train whose link is cut goes by lock."),
    # init
    N_("Create a node home: node.json, keys (0600) and certificates from the Party CA."),
    N_(
        "Without --ca, a new Party CA is created in HOME/ca. --dns/--ip name the hosts the "
        "peer dials (default localhost, 127.0.0.1). With --csr, only keys and a request are "
        "made: sign it at the offline CA (`pki sign`), then `pki install` the answer."
    ),
    N_("This node's Party, e.g. KZ."),
    N_("Directory of the Party CA."),
    N_("Database URL."),
    N_("Host name the peer dials for this node (repeatable)."),
    N_("IP address the peer dials for this node (repeatable)."),
    N_("Keep the CA off the node: write a certificate request here."),
    # pki ca
    N_("Create a Party CA (Ed25519) with an empty revocation list."),
    N_("Party code, e.g. KZ."),
    N_("Directory to create the CA in."),
    # pki export-trust
    N_("Write this node's trust bundle (CA, CRL, public certificates) for the peer Party."),
    N_(
        "With the CA key at hand (HOME/ca or --ca) the CRL is signed afresh; with the CA kept"
        " offline the installed CRL is used, and refused when it is stale."
    ),
    N_("Trust bundle file to write (JSON)."),
    # pki import-trust
    N_("Check a peer Party's trust bundle and store it under HOME/peers/<PARTY>/."),
    N_("Trust bundle of a peer Party."),
    N_("SHA-256 of the peer's Party CA as read out by the peer; refuse any other."),
    N_("Who is acting (default: $CTOP_USER, else the OS user)."),
    # pki revoke
    N_("Revoke a certificate: add its serial to the Party CA's CRL."),
    N_("Serial, decimal or 0x hex."),
    N_("Node home that gets the new CRL (and pushes it)."),
    # pki reissue-tls
    N_("Issue a new TLS key and certificate for the host names/addresses the peer dials."),
    # pki crl
    N_("Re-sign the Party CA's CRL now (run it before it goes stale; the node pushes it)."),
    N_("Also write the CRL here (for an offline CA)."),
    # pki sign
    N_("At the offline Party CA: issue the certificates a node requested."),
    N_("Certificate request of a node (ctop-csr/1)."),
    N_("Answer file to write (ctop-issued/1)."),
    # pki install
    N_("Install certificates issued by the offline CA, or a CRL it re-signed."),
    N_("Answer of `pki sign`, or a CRL (PEM)."),
    # pki rotate
    N_(
        "New signing and encryption keys; the old ones keep verifying and decrypting messages"
        " in flight until their certificates expire. The running node announces them to the "
        "peer."
    ),
    N_("CA kept offline: write a request for the new keys here."),
    # peer add
    N_("Add or replace a peer's endpoint. Its trust bundle comes from `pki import-trust`."),
    N_("The peer's Party, e.g. CN."),
    N_("The peer endpoint, https://host:port."),
    # peer list
    N_("The configured peers and whether their trust bundle is imported."),
    # peer remove
    N_("Stop sending to a peer: take it out of node.json."),
    N_("Entries queued for it stay in the outbox (sent again once it is added back)."),
    N_("Also delete its imported trust bundle: its messages are refused from then on."),
    # status
    N_(
        "Outbox depth and age, last delivery, peer circuits, recent rejections and the days "
        "left of every CRL, certificate and CA (warnings at 30, 7 and 1 days)."
    ),
    N_(
        "Monitoring: exit 1 with a one-line reason when a CRL, certificate or CA is near "
        "expiry or expired."
    ),
    # lock carrier-ca
    N_("Create a carrier CA that certifies lock device keys."),
    N_("Directory for the carrier CA."),
    N_("The CA's name."),
    # lock provision
    N_("Provision a lock: device key, certificate from the carrier, empty log."),
    N_("The lock's ID (as in smart_lock_id)."),
    N_("Carrier CA directory."),
    N_("Lock image file to create."),
    N_("Payload capacity in bytes."),
    # lock trust-carrier
    N_("Trust a carrier's CA for lock device certificates (arrival customs)."),
    N_("Carrier CA certificate (PEM)."),
    # lock write
    N_("Departure customs: write a stored record version to a lock and seal it."),
    N_("The record to write."),
    N_("The lock image file."),
    N_("full: the record; digest: its digest only."),
    N_("Arrival Party."),
    # lock event
    N_("Record what happens to a lock on the way (or open, seal, erase it)."),
    N_("What happened."),
    N_("Reader ID."),
    N_("Battery per cent."),
    # lock read
    N_("Arrival customs: verify a lock and store its record through the inbox."),
    N_("The lock image as pulled by the reader."),
    N_("Extra trusted carrier CA (PEM)."),
    N_("This reader's ID."),
    N_(
        "The fresh challenge the reader sent the lock, when the image was pulled by another "
        "device (default: this command challenges the simulated lock)."
    ),
    # lock pending
    N_("Departure customs: record versions to write to smart locks (carrier wish or fallback)."),
    # lock demo
    N_("One train, link cut: records go by smart lock, are read at CN and reconciled."),
    N_("Seed of the sample train."),
    N_("Seconds to wait for delivery."),
    # outbox requeue
    N_("Put dead outbox entries back to pending, due now."),
    N_(
        "Dead entries were given up after the last retry, or refused for a reason since fixed"
        " (a trust bundle, say). A running node sends them with their first message id, so "
        "the peer stores each once."
    ),
    N_("Only the entries for this Party, e.g. CN."),
    N_("Only this outbox entry (repeatable)."),
    # db current
    N_("The database's schema revision and the one this version of ctop-node ships."),
    N_("Exit status 1 when the database is behind."),
    # db upgrade
    N_("Bring the database's schema to this version's revision (Alembic; a no-op when it is)."),
    # backup
    N_("Back up the node (home, keys, database) into one file encrypted with a passphrase."),
    N_("The database is copied online: the node may keep running."),
    N_("The backup file to write (0600)."),
    N_("File whose first line is the passphrase (else $CTOP_BACKUP_PASSPHRASE, else asked)."),
    # restore
    N_("Restore a backup into a new home; the database goes to --db, else SQLite in that home."),
    N_("A file written by `ctop-node backup`."),
    N_("The new home (absent or empty)."),
    # user add
    N_("Add a user with a role and a password (at least 12 characters)."),
    N_("User name (letters, digits, '-', '_')."),
    N_("What the user may do."),
    N_("Read the password from standard input."),
    # user list
    N_("List users, their roles and whether they are disabled."),
    # user disable
    N_("Disable a user: their sessions end and their tokens stop working."),
    N_("User name."),
    # user token
    N_("Print a new read-scoped API token for the user (shown once), or revoke their tokens."),
    N_("Revoke every token of the user instead."),
    N_("read (default) or control (may also post control results)."),
    # cancel
    N_("Cancel one of our records at every peer Party."),
    N_("The id of our record to cancel."),
    N_("Why the record is cancelled (sent to the peers)."),
    # audit verify
    N_("Check the whole chain and its signed checkpoints; exit 1 naming the first bad position."),
    # audit checkpoint
    N_("Sign the chain's current head with the node key now."),
    # audit export
    N_("Write positions FROM..TO with their proof, verifiable offline with `verify-export`."),
    N_("First position."),
    N_("Last position."),
    N_("File to create (must not exist)."),
    # audit verify-export
    N_("Check an export offline against the Party CA certificate; exit 1 naming the position."),
    N_("An `audit export` file."),
    N_("A Party CA certificate (PEM) to check signatures against; repeat."),
    # consent add
    N_("Register a written consent; the registration is audited."),
    N_("The consent letter's reference."),
    N_("The Party that consented."),
    N_("The use the Party consented to."),
    N_("Record-id patterns, comma separated, or * for all."),
    N_("Last valid day, YYYY-MM-DD."),
    # consent list
    N_("Every registered consent, revoked ones included."),
    # consent revoke
    N_("Revoke a consent from now on; the revocation is audited."),
    N_("The consent's reference."),
    # evidence pack
    N_(
        "Pack the sealed messages, receipts, certificates, CRLs, lock readings and audit "
        "entries of a record version into one signed file."
    ),
    N_("Origin Party."),
    N_("Reference of the consent to pack under."),
    # evidence verify
    N_("Check a bundle offline against the Party CA certificates (--ca, one per Party)."),
    N_("An evidence bundle."),
    # purge
    N_("Remove the bodies of peer records older than the retention period (audited)."),
    N_("Purge peer records stored before this day (YYYY-MM-DD)."),
    # at-rest keygen
    N_("Create a new at-rest key file; point CTOP_AT_REST_KEY_FILE at it before the node starts."),
    N_("Key file to create (0600), e.g. HOME/keys/at-rest.json."),
    # at-rest status
    N_("How many values of each column are sealed under which key (``plain``: not sealed)."),
    # at-rest rotate
    N_("Make a new current key, re-seal every value under it, then drop the old keys."),
    # conformance prepare
    N_("Make a kit home: keys of PARTY, test certificates, the trust bundle for the peer."),
    N_("The kit home (made by `prepare`)."),
    N_("The Party the kit plays, e.g. KZ."),
    N_("The peer's trust bundle to import."),
    N_("Simulator peer port."),
    N_("Simulator control port."),
    # conformance list
    N_("The numbered scenarios: what is sent and what the spec says comes back."),
    # conformance run
    N_("Play the scenarios against a peer node as the kit's Party and judge its answers."),
    N_("The peer endpoint, https://h:p."),
    N_("The peer Party (default: the only one imported)."),
    N_("Scenario number or name (repeat; default: all)."),
    N_("Command that makes the peer read a lock image; {image} is its path."),
    # conformance serve
    N_(
        "Run the partner simulator: a peer endpoint answering as the spec says, and a control"
        " port (loopback) that plays scenarios toward the foreign node."
    ),
    N_("The foreign node's peer endpoint, for `send`."),
    N_("Address of the peer port."),
    # conformance send
    N_("Tell a running simulator to play scenarios toward the foreign node."),
    N_("Scenario numbers or names."),
    N_("The simulator's control URL."),
    N_("Override the foreign node's endpoint."),
    # report
    N_("Write the evaluation report of this node for a period."),
    N_("Directory the report files go to."),
    N_("First UTC day (default: today)."),
    N_("Last UTC day (default: today)."),
    N_("html (one offline file), json or csv."),
    N_("The peer's signed manifest: reconcile with ours."),
    N_(
        "Share of records sent by lock for an online outage that needs attention (default: "
        "node.json report_lock_share_threshold, else 0.05)."
    ),
    N_("Language of the HTML report."),
    # manifest
    N_("Write this node's signed manifest (COSE_Sign1) for a period."),
    N_("File the signed manifest goes to."),
    N_(
        "Send it to the peer as a MANIFEST message over the online channel; the peer keeps it"
        " for reconcile --with-peer and its report."
    ),
    N_("The peer Party (default: the only peer in node.json)."),
    # reconcile
    N_("Check both manifests' signatures and list the differences; exit 3 when there are any."),
    N_("Our signed manifest."),
    N_("The peer's signed manifest."),
    N_("Party trust bundles to check with (default: the home's)."),
    N_(
        "Reconcile our database, as of now, with the manifest the peer sent for exactly "
        "--from .. --to (instead of two files)."
    ),
    N_("With --with-peer: the peer Party (default: any)."),
)
