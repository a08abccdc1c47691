package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// The signing-key rings of core.WithKeyRotation (core.KeyRingStore): one hash per ring, read
// and swapped by one script each, decided by the server's clock so that every instance sharing
// the Redis rotates at the same moment, once.

var _ core.KeyRingStore = (*Store)(nil)

// LoadKeyRing implements core.KeyRingStore in one round trip, reading the ring and the server's
// clock together.
func (s *Store) LoadKeyRing(ctx context.Context, name string, now time.Time) (core.KeyRingState, error) {
	if err := s.prepare(ctx); err != nil {
		return core.KeyRingState{}, opError("load key ring", err)
	}
	reply, err := loadRingScript.Run(ctx, s.client, []string{s.keyRingKey(name)}, s.now(now)).StringSlice()
	if err != nil {
		return core.KeyRingState{}, opError("load key ring", err)
	}
	st, err := parseRing(reply)
	if err != nil {
		return core.KeyRingState{}, opError("load key ring", err)
	}
	return st, nil
}

// SwapKeyRing implements core.KeyRingStore in one round trip (one script), atomically, by the
// server's clock.
func (s *Store) SwapKeyRing(ctx context.Context, name string, next core.KeyRingState, force bool, now time.Time) (core.KeyRingState, bool, error) {
	if err := s.prepare(ctx); err != nil {
		return core.KeyRingState{}, false, opError("swap key ring", err)
	}
	f := ""
	if force {
		f = "1"
	}
	reply, err := swapRingScript.Run(ctx, s.client, []string{s.keyRingKey(name)},
		strconv.FormatInt(next.Generation-1, 10), ms(next.Due), string(next.Document), f, s.now(now)).StringSlice()
	if err != nil {
		return core.KeyRingState{}, false, opError("swap key ring", err)
	}
	if len(reply) != 5 {
		return core.KeyRingState{}, false, opError("swap key ring", fmt.Errorf("unexpected reply of %d items", len(reply)))
	}
	st, err := parseRing(reply[1:])
	if err != nil {
		return core.KeyRingState{}, false, opError("swap key ring", err)
	}
	return st, reply[0] == "1", nil
}

// parseRing decodes {generation, due, document, now}.
func parseRing(reply []string) (core.KeyRingState, error) {
	if len(reply) != 4 {
		return core.KeyRingState{}, fmt.Errorf("unexpected reply of %d items", len(reply))
	}
	gen, err := strconv.ParseInt(reply[0], 10, 64)
	if err != nil {
		return core.KeyRingState{}, fmt.Errorf("bad generation %q", reply[0])
	}
	due, err := parseMS(reply[1])
	if err != nil {
		return core.KeyRingState{}, err
	}
	now, err := parseMS(reply[3])
	if err != nil {
		return core.KeyRingState{}, err
	}
	st := core.KeyRingState{Generation: gen, Due: due, Now: now}
	if gen != 0 {
		st.Document = []byte(reply[2])
	}
	return st, nil
}
