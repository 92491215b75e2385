package httpapi

import "github.com/parleyhq/parley/internal/store"

// PageParams are the paging query parameters every list takes.
type PageParams struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size"`
	Cursor string `query:"cursor" maxLength:"200" doc:"The next_cursor of the previous page"`
}

func (p PageParams) page() store.Page { return store.Page{Limit: p.Limit, After: p.Cursor} }

// ListBody is one page of a list.
type ListBody[T any] struct {
	Results    []T    `json:"results"`
	NextCursor string `json:"next_cursor" doc:"Pass as ?cursor= for the next page; empty on the last page"`
}

// ListOutput wraps a page for huma.
type ListOutput[T any] struct {
	Body ListBody[T]
}

func listOf[T any](l store.List[T]) *ListOutput[T] {
	return &ListOutput[T]{Body: ListBody[T]{Results: l.Items, NextCursor: l.Next}}
}

// Body wraps a single response document for huma.
type Body[T any] struct {
	Body T
}

func bodyOf[T any](v T) *Body[T] { return &Body[T]{Body: v} }
