// Package replica runs secondary replicas: vendor plugins that keep a
// foreign registry (an LDAP directory, NIS maps, an HR system) in step
// with the realm as a replica KDC receives it, after OSF DCE RFC 83.0's
// "Registry Synchronization".
//
// kpropd acknowledges each load to kprop first and then hands it to a
// Dispatcher, which delivers to each configured Replica on its own
// goroutine. A delivery is the difference between the snapshot the plugin
// last acknowledged and the database now, found by one merge of the two
// in name order (memory does not grow with the realm), and streamed to
// the plugin from one read transaction. The plugin's outcome moves the
// snapshot forward (success), keeps it and schedules a retry with
// back-off (can't process), or leads to a full delivery (reinit
// requested). Each replica's identity, state and snapshot live in its
// state directory, replaced atomically, under a lock that lets kpropd and
// kdb5util's admin commands share them.
//
// Plugins are executables (PROTOCOL.md: operations as arguments, JSON
// lines on standard input, the outcome as exit status) or Go values
// implementing Plugin, registered with Register in a custom build.
package replica
