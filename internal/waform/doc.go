// Package waform owns WhatsApp Flows (Meta's multi-screen forms): the Flow
// JSON model, the validator that applies Meta's rules for the declared
// version, the data-exchange endpoint's crypto and request handling, and the
// built-in form templates. It is pure: the Graph API calls belong to the
// WhatsApp adapter's forms capability and storage to the store.
package waform
