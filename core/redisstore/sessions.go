package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// The session index of a subject is the sorted set "<prefix>{<subject>}:sess": its members are
// the sids of the subject's families, scored by their last use (Unix ms), so the least recently
// used is the first. It shares the subject's hash tag, hence the Cluster slot of every family it
// names, and the scripts derive those families' keys from its name (they cannot be declared in
// KEYS: only the index knows them), which is safe because they live in the same slot. Every
// script that adds a member makes the index live at least as long as that member's family, so
// the index expires with the last family it names; members whose family expired are skipped by
// readers and dropped by the next login.

// Sessions implements core.Store in one round trip (one read-only script over the subject's
// session index and the families it names).
func (s *Store) Sessions(ctx context.Context, subject string) ([]core.Family, error) {
	if err := s.ready(ctx, subject); err != nil { // as every other call: policy and marker checks
		return nil, s.opError(ctx, subject, "sessions", err)
	}
	reply, err := sessionsScript.Run(ctx, s.client, []string{s.indexKey(subject)}).StringSlice()
	if err != nil {
		return nil, s.opError(ctx, subject, "sessions", err)
	}
	if len(reply)%12 != 0 {
		return nil, opError("sessions", fmt.Errorf("script reply has %d elements, not a multiple of 12", len(reply)))
	}
	out := make([]core.Family, 0, len(reply)/12)
	for i := 0; i < len(reply); i += 12 {
		r := reply[i : i+12]
		f := core.Family{SessionID: r[0], Subject: r[1], Current: r[2], Previous: r[5], Client: r[10], DPoPThumbprint: r[11]}
		for _, field := range []struct {
			dst *time.Time
			src string
		}{
			{&f.CurrentIssuedAt, r[3]}, {&f.CurrentExpires, r[4]}, {&f.PreviousUntil, r[6]},
			{&f.Expires, r[7]}, {&f.CreatedAt, r[8]}, {&f.LastUsed, r[9]},
		} {
			if *field.dst, err = parseMS(field.src); err != nil {
				return nil, opError("sessions", err)
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// EndSessions implements core.Store in one round trip (one script), atomically.
func (s *Store) EndSessions(ctx context.Context, subject, keep string, until time.Time) ([]string, error) {
	if err := s.ready(ctx, subject); err != nil {
		return nil, s.opError(ctx, subject, "end sessions", err)
	}
	reply, err := s.runDurable(ctx, subject, endSessionsScript, []string{s.indexKey(subject)},
		keep, ms(until), s.channelFor(subject), encodeSubject(subject)).StringSlice()
	if err != nil {
		return nil, s.opError(ctx, subject, "end sessions", err)
	}
	ended, err := s.endedReply(reply)
	if err != nil {
		return nil, opError("end sessions", err)
	}
	return ended, nil
}

// endedReply reads {sid, message, ...} of a script that ended families, applies each message to
// the local replica, and returns the sids.
func (s *Store) endedReply(reply []string) ([]string, error) {
	if len(reply)%2 != 0 {
		return nil, fmt.Errorf("script reply has %d elements, not pairs", len(reply))
	}
	var ended []string
	for i := 0; i < len(reply); i += 2 {
		ended = append(ended, reply[i])
		s.applyLocally(reply[i+1])
	}
	return ended, nil
}
