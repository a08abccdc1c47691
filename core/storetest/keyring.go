package storetest

import (
	"fmt"
	"sync"
	"time"

	"github.com/jwtexp/jwtexp/core"
)

// The optional core.KeyRingStore (core.WithKeyRotation): run only for stores that implement it.
// The cases move the clock given to newStore and pass its time as SwapKeyRing's now: a store that
// decides by its own server's clock in production must decide by that argument under test, as the
// Redis store does with this suite.
var keyRingStoreCases = []struct {
	name string
	run  func(e *storeEnv)
}{
	{"KeyRing/missing, then created by the first swap", testRingCreate},
	{"KeyRing/a swap of another generation is refused", testRingGeneration},
	{"KeyRing/a swap before the due time is refused unless forced", testRingDue},
	{"KeyRing/a swap once due by the clock", testRingDueReached},
	{"KeyRing/rings are separate by name", testRingNames},
	{"KeyRing/concurrent swaps of one generation: exactly one wins", testRingConcurrent},
}

// ring returns the store as a KeyRingStore, skipping the case when it is none.
func (e *storeEnv) ring() core.KeyRingStore {
	e.t.Helper()
	rs, ok := e.s.(core.KeyRingStore)
	if !ok {
		e.t.Skip("the store does not implement core.KeyRingStore")
	}
	return rs
}

func (e *storeEnv) load(name string) core.KeyRingState {
	e.t.Helper()
	st, err := e.ring().LoadKeyRing(e.ctx, name, e.clock.Now())
	if err != nil {
		e.t.Fatalf("LoadKeyRing(%q): got error %v, want nil", name, err)
	}
	if st.Now.IsZero() {
		e.t.Fatalf("LoadKeyRing(%q): Now is zero, want the store's clock", name)
	}
	return st
}

func (e *storeEnv) swap(name string, gen int64, due time.Time, doc string, force bool) (core.KeyRingState, bool) {
	e.t.Helper()
	st, ok, err := e.ring().SwapKeyRing(e.ctx, name, core.KeyRingState{Generation: gen, Due: due, Document: []byte(doc)}, force, e.clock.Now())
	if err != nil {
		e.t.Fatalf("SwapKeyRing(%q, generation %d): got error %v, want nil", name, gen, err)
	}
	return st, ok
}

func (e *storeEnv) expectRing(st core.KeyRingState, gen int64, due time.Time, doc string) {
	e.t.Helper()
	if st.Generation != gen || !st.Due.Equal(due.Truncate(time.Millisecond)) || string(st.Document) != doc {
		e.t.Fatalf("ring: got generation %d, due %v, document %q; want %d, %v, %q", st.Generation, st.Due, st.Document, gen, due, doc)
	}
}

func testRingCreate(e *storeEnv) {
	if st := e.load("access"); st.Generation != 0 || st.Document != nil {
		e.t.Fatalf("missing ring: got generation %d, document %q; want 0 and none", st.Generation, st.Document)
	}
	due := e.clock.Now().Add(time.Minute)
	st, ok := e.swap("access", 1, due, `{"keys":[1]}`, false)
	if !ok {
		e.t.Fatal("the first swap of a missing ring: refused, want it to create the ring")
	}
	e.expectRing(st, 1, due, `{"keys":[1]}`)
	e.expectRing(e.load("access"), 1, due, `{"keys":[1]}`)
}

func testRingGeneration(e *storeEnv) {
	due := e.clock.Now().Add(time.Minute)
	e.swap("access", 1, due, "one", false)
	e.clock.Advance(2 * time.Minute) // due: only the generation refuses
	for _, gen := range []int64{1, 3} {
		st, ok := e.swap("access", gen, due.Add(time.Hour), "other", true)
		if ok {
			e.t.Fatalf("swap proposing generation %d over generation 1: accepted, want refused", gen)
		}
		e.expectRing(st, 1, due, "one")
	}
}

func testRingDue(e *storeEnv) {
	due := e.clock.Now().Add(time.Minute)
	e.swap("access", 1, due, "one", false)
	e.clock.Advance(59 * time.Second)
	st, ok := e.swap("access", 2, due.Add(time.Minute), "two", false)
	if ok {
		e.t.Fatal("swap a second before the due time: accepted, want refused")
	}
	e.expectRing(st, 1, due, "one")
	st, ok = e.swap("access", 2, due.Add(time.Minute), "two", true)
	if !ok {
		e.t.Fatal("forced swap before the due time: refused, want accepted")
	}
	e.expectRing(st, 2, due.Add(time.Minute), "two")
}

func testRingDueReached(e *storeEnv) {
	due := e.clock.Now().Add(time.Minute)
	e.swap("access", 1, due, "one", false)
	e.clock.Advance(time.Minute) // at the due time exactly
	st, ok := e.swap("access", 2, due.Add(time.Minute), "two", false)
	if !ok {
		e.t.Fatal("swap at the due time: refused, want accepted")
	}
	e.expectRing(st, 2, due.Add(time.Minute), "two")
	e.expectRing(e.load("access"), 2, due.Add(time.Minute), "two")
}

func testRingNames(e *storeEnv) {
	due := e.clock.Now().Add(time.Minute)
	e.swap("access", 1, due, "access ring", false)
	if st := e.load("refresh"); st.Generation != 0 {
		e.t.Fatalf("ring refresh after a swap of ring access: generation %d, want 0", st.Generation)
	}
	e.swap("refresh", 1, due, "refresh ring", false)
	e.expectRing(e.load("access"), 1, due, "access ring")
	e.expectRing(e.load("refresh"), 1, due, "refresh ring")
}

func testRingConcurrent(e *storeEnv) {
	due := e.clock.Now().Add(time.Minute)
	e.swap("access", 1, due, "one", false)
	e.clock.Advance(time.Minute)
	const n = 16
	var wg sync.WaitGroup
	won := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, won[i], errs[i] = e.ring().SwapKeyRing(e.ctx, "access",
				core.KeyRingState{Generation: 2, Due: due.Add(time.Minute), Document: []byte(fmt.Sprint("proposal ", i))}, false, e.clock.Now())
		}()
	}
	wg.Wait()
	winner := -1
	for i := range n {
		if errs[i] != nil {
			e.t.Fatalf("SwapKeyRing: %v", errs[i])
		}
		if won[i] {
			if winner >= 0 {
				e.t.Fatalf("proposals %d and %d both swapped generation 2", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		e.t.Fatal("no proposal swapped")
	}
	e.expectRing(e.load("access"), 2, due.Add(time.Minute), fmt.Sprint("proposal ", winner))
}
