"""What training and the ops tools share: atomic writes, interrupt handling, the terminal status
line, percentiles and one-line command-line errors. Standard library only, and it imports neither
training nor ops (both import it; training ships in the CodeBuild source archive with it)."""
