package kdb

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
)

// IpropPosition is the update-log position (serial number and time) of
// the last update the database contains, as an iprop dump header carries
// it. krb5prop keeps no update log: the position is the one the last
// "load -i" brought, or zero.
type IpropPosition struct {
	SerialNumber uint32
	Sec, Usec    uint32
}

func (p IpropPosition) encode() []byte {
	b := binary.BigEndian.AppendUint32(nil, p.SerialNumber)
	b = binary.BigEndian.AppendUint32(b, p.Sec)
	return binary.BigEndian.AppendUint32(b, p.Usec)
}

// IpropPosition returns the database's update-log position.
func (s *Store) IpropPosition(ctx context.Context) (IpropPosition, error) {
	var b []byte
	err := s.read.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'iprop'`).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return IpropPosition{}, nil
	}
	if err != nil {
		return IpropPosition{}, fmt.Errorf("read iprop position: %w", err)
	}
	if len(b) != 12 {
		return IpropPosition{}, errors.New("malformed iprop position")
	}
	return IpropPosition{binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:]), binary.BigEndian.Uint32(b[8:])}, nil
}
