# Shortcuts for ./dev (which does the work and needs nothing but bash).
.PHONY: demo destroy test lint app-test aws-test molecule bootstrap
demo destroy test lint app-test aws-test molecule bootstrap:
	./dev $@
