package waform

// flow checks everything below the version; filled in by the rule files.
func (v *validator) flow() {
	screens := v.root.get("screens")
	if screens == nil {
		v.add(CodeMissingRequiredProperty, "/screens", v.root, "The property 'screens' is required")
		return
	}
	if screens.k != kArr {
		v.add(CodeInvalidPropertyType, "/screens", screens, "Expected property 'screens' to be of type array, but found %s", screens.k)
		return
	}
	if len(screens.vals) == 0 {
		v.add(CodeMinItemsRequired, "/screens", screens, "A flow needs at least one screen")
	}
	if len(screens.vals) > MaxScreens {
		v.add(CodeMaxScreensNumber, "/screens", screens, "A flow may have at most %d screens, found %d", MaxScreens, len(screens.vals))
	}
}
