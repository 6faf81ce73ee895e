package sqlgen

// RunsInBlock exposes the cheap classification to the tests.
var RunsInBlock = runsInBlock
