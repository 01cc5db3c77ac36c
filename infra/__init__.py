"""CDK infrastructure: the stack composes constructs, one construct per concern."""
