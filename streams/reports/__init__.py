"""The monthly callback analysis report and brief: rendering (Markdown, HTML with charts) and publishing."""
