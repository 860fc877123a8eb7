# Log template mining and the log report (issue 4): accuracy and speed figures.
.PHONY: bench-logs ga-logs drain3

bench: bench-logs

# drain3 from PyPI into bench/.venv, the peer `accord-bench logs` is compared with.
drain3:
	bash bench/logs/setup_drain3.sh

# Grouping Accuracy on the ten Loghub-2k systems, scored by the benchmark's ga.py.
ga-logs: release
	ACCORD_SHARED_DIR=$(SHARED) bash bench/logs/loghub_ga.sh $(RELEASE)

# Prints the tables; bench/results/logs.md holds the published run with its notes.
bench-logs: release drain3
	ACCORD_SHARED_DIR=$(SHARED) $(BENCH) logs
