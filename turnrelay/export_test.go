package turnrelay

// FastRoutes is the number of ChannelData routes the fast path holds.
func FastRoutes(s *Server) int { return s.data.Routes() }
