package sprint

// Drafts is how many simulator sessions' compiled drafts are kept. Each
// simulation compiles its own copy of the draft, so they are kept in a
// bounded cache (least recently used out first) and each is dropped once
// its session ends: otherwise a long-running server would keep one program
// per simulation ever run.
func (h *Handler) Drafts() int { return h.drafts.Len() }
