// Package propagation is MIT Kerberos's full-propagation protocol (kprop and
// kpropd), both ends, as engines over one connection: krb5_sendauth and
// krb5_recvauth with the "kprop5_01" application version, the database size
// in a KRB-SAFE, the dump in KRB-PRIV blocks with a chained cipher state,
// and the KRB-SAFE confirmation sent once the replica has loaded the dump
// (spec/kprop-protocol.md). It also reads kpropd.acl and keeps kpropd's
// replay cache.
//
// The package moves bytes and knows nothing of the database: the sender
// reads the dump from an io.Reader, the receiver writes it to a Store whose
// Commit loads it. Listening, flags, files and processes belong to cmd/.
//
// The engines follow MIT 1.20.1 byte for byte where the wire and the
// logs are concerned, and differ where MIT has flaws (DESIGN.md §3): every
// read and write has a deadline and the sender has one too; frames are
// bounded before allocation; a dump whose blocks overshoot the announced
// size, or that cannot be stored, is reported and not loaded; a kprop
// whose replica closes without a reply is told what that usually means.
package propagation
