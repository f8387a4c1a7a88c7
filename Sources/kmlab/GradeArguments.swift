import ArgumentParser
import Lessons

// The report formats and CSV styles are the Lessons module's own enums: the
// command line parses them, lists them in `--help` and names the valid ones
// in its error, with no copy of the list here.
extension BatchReport.Format: ExpressibleByArgument {}
extension CSVOptions.Style: ExpressibleByArgument {}
