// This stub module fences ui/ off from the main Go module, so `go test ./...`
// never walks into ui/node_modules (some npm packages ship .go files).
module parley-ui-fence

go 1.22
