package probe

import "time"

// probeEvent is a relay's next probe. Entries are never removed from the heap
// early: an entry whose gen no longer matches its relay's, or whose relay was
// removed, is skipped when it comes up.
type probeEvent struct {
	at  time.Time
	r   *relay
	gen uint64
}

// eventHeap is a min-heap of probe events by time. It is typed rather than
// container/heap so that pushes do not allocate.
type eventHeap []probeEvent

func (h *eventHeap) push(e probeEvent) {
	*h = append(*h, e)
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if !s[i].at.Before(s[parent].at) {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

func (h *eventHeap) pop() probeEvent {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s[last] = probeEvent{}
	s = s[:last]
	for i := 0; ; {
		l, smallest := 2*i+1, i
		if l < len(s) && s[l].at.Before(s[smallest].at) {
			smallest = l
		}
		if r := l + 1; r < len(s) && s[r].at.Before(s[smallest].at) {
			smallest = r
		}
		if smallest == i {
			break
		}
		s[i], s[smallest] = s[smallest], s[i]
		i = smallest
	}
	*h = s
	return top
}

// deadline is when an in-flight transaction times out.
type deadline struct {
	at time.Time
	tx txID
}

// deadlineQueue holds transaction deadlines in send order. Every transaction
// gets the same timeout and sends are made in time order, so the queue is
// sorted by construction: a FIFO is all the timer wheel this needs.
type deadlineQueue struct {
	q    []deadline
	head int
}

func (d *deadlineQueue) len() int        { return len(d.q) - d.head }
func (d *deadlineQueue) front() deadline { return d.q[d.head] }
func (d *deadlineQueue) push(e deadline) { d.q = append(d.q, e) }
func (d *deadlineQueue) pop() (e deadline) {
	e = d.q[d.head]
	d.head++
	if d.head == len(d.q) {
		d.q, d.head = d.q[:0], 0
	} else if d.head >= 1024 && 2*d.head >= len(d.q) {
		n := copy(d.q, d.q[d.head:])
		d.q, d.head = d.q[:n], 0
	}
	return e
}

// hashID is FNV-1a of a relay ID: stable across processes and restarts, so a
// relay keeps its phase in the interval.
func hashID(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return h
}

// slotAfter returns the first time strictly after t that lies at phase
// within a period starting at the Unix epoch. The result keeps t's monotonic
// reading.
func slotAfter(t time.Time, period, phase time.Duration) time.Time {
	p, ph, tn := int64(period), int64(phase), t.UnixNano()
	k := (tn - ph) / p
	if (tn-ph)%p < 0 {
		k--
	}
	s := (k+1)*p + ph
	return t.Add(time.Duration(s - tn))
}
