package ratelimit

// Keys is how many keys scope remembers.
func (m *Memory) Keys(scope string) int { return m.scopes[scope].keys.Len() }

// Debt is what the shared budget still owes for key in scope on this replica.
func (r *Redis) Debt(scope, key string) int64 {
	if e, ok := r.scopes[scope].keys.Peek(key); ok {
		return e.debt.Load()
	}
	return 0
}
