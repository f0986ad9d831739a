"""The Mappings section: build, preview, test-launch and switch form-to-template mappings."""
