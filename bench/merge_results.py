"""One section's new measurements into the last run's (submit-scripts/gradspark-bench --only SECTION).

usage: merge_results.py OLD.jsonl NEW.jsonl SECTION MERGED.jsonl

MERGED gets OLD's records less those of SECTION (its kind, its failures, its --only run's records),
then NEW's. The report's header describes the first machine record's run (OLD's, when it has one);
NEW's machine record stays beside it, marked "only", for the section to say where it ran. Prints the
command that made the run the header describes. OLD may be missing.
"""
import json
import os
import sys


def records(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def of_section(r, section):
    kind = r.get("kind")
    return (kind == section or (kind == "error" and str(r.get("what", "")).startswith(section))
            or (kind in ("done", "machine") and r.get("only") == section))


def main(old_path, new_path, section, merged_path):
    old = [r for r in records(old_path) if not of_section(r, section)]
    new = records(new_path)
    merged = old + new
    with open(merged_path, "w") as f:
        for r in merged:
            f.write(json.dumps(r) + "\n")
    machine = next((r for r in merged if r.get("kind") == "machine"), {})
    print("submit-scripts/gradspark-bench" + (" --quick" if machine.get("quick") else "") + (" --smoke" if machine.get("smoke") else "")
          + (" --only " + machine["only"] if machine.get("only") else ""))


if __name__ == "__main__":
    main(*sys.argv[1:5])
