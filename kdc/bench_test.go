package kdc

import "testing"

// BenchmarkASReq measures the AS exchange with preauthentication against
// the SQLite store: decode, two lookups, the encrypted timestamp, a new
// session key, the ticket and the reply. The lookaside cache is off, so
// the same request is processed every time.
func BenchmarkASReq(b *testing.B) {
	f := newFixture(b)
	f.h.LookasideSize = -1
	f.h.Log = nil
	f.addPrinc("alice", "alice-pw", nil)
	q := f.asReq("alice")
	q.padata = []paData{encTS(b, passwordKey(b, "alice", "alice-pw", 18), f.ts())}
	req := q.marshal()
	decodeASRep(b, f.serve(req), passwordKey(b, "alice", "alice-pw", 18), f.key("krbtgt/"+testRealm, 18))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if f.serve(req) == nil {
				b.Error("no reply")
			}
		}
	})
}

// BenchmarkTGSReq measures the TGS exchange for a service ticket.
func BenchmarkTGSReq(b *testing.B) {
	f := newFixture(b)
	f.h.LookasideSize = -1
	f.addPrinc("alice", "alice-pw", nil)
	f.addPrinc("host/svc", "", nil)
	tgt := f.login("alice", "alice-pw", nil)
	f.h.Log = nil
	req := f.tgsReq(f.serviceReq("host/svc"), tgt.tktDER, tgt.session(), alice(), tgsOpts{})
	decodeTGSRep(b, f.serve(req), tgt.session(), keyUsageTGSRepSession, f.key("host/svc", 18))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if f.serve(req) == nil {
				b.Error("no reply")
			}
		}
	})
}
