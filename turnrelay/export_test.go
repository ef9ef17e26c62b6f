package turnrelay

// FastRoutes is the number of ChannelData routes the fast path holds.
func FastRoutes(s *Server) int { return s.data.Routes() }

// PendingMatches is the number of secret matches not yet handed to the
// AuthHandler; -1 without a matcher (one secret).
func PendingMatches(s *Server) int {
	if s.match == nil {
		return -1
	}
	return s.match.Pending()
}
