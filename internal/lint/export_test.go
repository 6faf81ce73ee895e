package lint

// ParsedFiles exposes the count of parsed files to the tests.
var ParsedFiles = &parsedFiles
