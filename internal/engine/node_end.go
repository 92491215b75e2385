package engine

import (
	"strconv"

	"github.com/parleyhq/parley/internal/flow"
)

// endExec runs end nodes: the closing message, then the frame ends.
var endExec = executor{enter: func(r *sprint, st *flow.Step) int {
	c := st.Config.(*flow.EndConfig)
	if c.Text != nil {
		r.send(&Message{Type: MessageText, Text: r.render(c.Text, "text")})
	}
	return r.finish("reached end node " + strconv.Quote(st.ID))
}}
