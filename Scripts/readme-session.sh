#!/usr/bin/env bash
# The README's curl session, executed: extracts the fenced shell block that follows "In another
# shell" in README.md (Docs/serving.md must hold the same block, byte for byte), starts the README's
# own server (`metarec serve`, release build, which trains the synthetic model once) in a fresh
# folder on a free loopback port, runs the session's commands in order in one bash (the port
# substituted for 8080), and checks each curl command's answer against the one Docs/serving.md
# shows under "What it answered": the status (the shown `HTTP/1.1 NNN` line, else 2xx, or 4xx where
# the shown answer is an error), every header shown, and every JSON field shown, with the same
# value except where the model decides (scores, ranked ids, versions, times). Called by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

work=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "== release server"
swift build -c release --product metarec
metarec="$(swift build -c release --show-bin-path)/metarec"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "== metarec serve --port $port in a fresh folder (trains the synthetic model once)"
(cd "$work" && exec "$metarec" serve --port "$port") > "$work/server.log" 2>&1 &
server_pid=$!
up=""
for _ in $(seq 1 1800); do  # training the synthetic model takes a few minutes on 2 busy cores
    if curl -fsS "http://127.0.0.1:$port/healthz" > /dev/null 2>&1; then up=1; break; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.5
done
if [ -z "$up" ]; then cat "$work/server.log"; echo "the server did not start"; exit 1; fi

echo "== the session"
status=0
python3 - "$root" "$work" "$port" <<'PYTHON' || status=$?
import json, re, subprocess, sys

root, work, port = sys.argv[1], sys.argv[2], sys.argv[3]


def fenced_after(text, marker, language, source):
    """The first ```language block after the line holding marker."""
    start = text.find(marker)
    if start < 0:
        sys.exit(f"{source}: no line with {marker!r}")
    match = re.compile(r"^```" + language + r"\n(.*?)^```$", re.M | re.S).search(text, start)
    if not match:
        sys.exit(f"{source}: no ```{language} block after {marker!r}")
    return match.group(1)


readme = open(f"{root}/README.md").read()
serving = open(f"{root}/Docs/serving.md").read()
session = fenced_after(readme, "In another shell", "sh", "README.md")
if fenced_after(serving, "In another shell", "sh", "Docs/serving.md") != session:
    sys.exit("Docs/serving.md's session differs from README.md's: keep them the same")
shown = fenced_after(serving, "What it answered", "json", "Docs/serving.md")

# The commands: continuation lines joined; the README's port replaced by the server's.
commands, pending = [], ""
for line in session.splitlines():
    pending += line
    if pending.endswith("\\"):
        pending = pending[:-1]
        continue
    if pending.strip():
        commands.append(pending.replace("127.0.0.1:8080", f"127.0.0.1:{port}"))
    pending = ""

# The answers shown: one per curl command; `HTTP/` starts an answer with its headers and body.
answers = []
for line in shown.splitlines():
    if not line.strip():
        continue
    if line.startswith("HTTP/"):
        answers.append({"status": int(line.split()[1]), "headers": {}, "body": None})
    elif line.startswith("{"):
        if answers and answers[-1]["status"] is not None and answers[-1]["body"] is None:
            answers[-1]["body"] = json.loads(line)
        else:
            answers.append({"status": None, "headers": {}, "body": json.loads(line)})
    elif ":" in line and answers:
        name, value = line.split(":", 1)
        answers[-1]["headers"][name.strip().lower()] = value.strip()
    else:
        sys.exit(f"Docs/serving.md: cannot read the shown answer line {line!r}")

curls = [c for c in commands if c.lstrip().startswith("curl ")]
if len(curls) != len(answers):
    sys.exit(f"{len(curls)} curl commands in the session, {len(answers)} answers shown in Docs/serving.md")

# One bash runs the whole session (its variables carry over); curl also writes the status.
script = ["set -u", "curl() { command curl -w '\\n@@status %{http_code}\\n' \"$@\"; }"]
for index, command in enumerate(commands):
    script += [command, f"echo \"@@end {index} $?\""]
run = subprocess.run(["bash", "-c", "\n".join(script)], cwd=work, capture_output=True, text=True, timeout=600)
outputs, current = {}, []
for line in run.stdout.splitlines():
    match = re.fullmatch(r"@@end (\d+) (\d+)", line)
    if match:
        outputs[int(match.group(1))] = ("\n".join(current), int(match.group(2)))
        current = []
    else:
        current.append(line)
if run.stderr.strip():
    print("stderr of the session:\n" + run.stderr)

VOLATILE = {"score", "standardDeviation", "createdAt", "addedAt", "version", "expiresAt", "token"}


def compare(shown, actual, path, ranked, errors):
    """Every field shown is there, of the same kind; same value unless the model decides it."""
    if isinstance(shown, dict):
        if not isinstance(actual, dict):
            errors.append(f"{path}: expected an object, got {actual!r}")
            return
        for key, value in shown.items():
            if key not in actual:
                errors.append(f"{path}.{key}: missing")
            elif key in VOLATILE:
                if type(actual[key]) is not type(value) and not (
                    isinstance(value, (int, float)) and isinstance(actual[key], (int, float))
                ):
                    errors.append(f"{path}.{key}: expected a {type(value).__name__}, got {actual[key]!r}")
            elif key == "items" and isinstance(value, list) and path.endswith("recommendations"):
                if not isinstance(actual[key], list) or len(actual[key]) != len(value):
                    errors.append(f"{path}.items: expected {len(value)} items, got {actual[key]!r}")
                    continue
                for i, (a, b) in enumerate(zip(value, actual[key])):
                    if set(a) != set(b):
                        errors.append(f"{path}.items[{i}]: fields {sorted(b)}, shown {sorted(a)}")
                if ranked:  # the candidates are given: the same ids, in the model's order
                    if sorted(x["id"] for x in value) != sorted(x["id"] for x in actual[key]):
                        errors.append(f"{path}.items: ids {[x['id'] for x in actual[key]]}, shown {[x['id'] for x in value]}")
            else:
                compare(value, actual[key], f"{path}.{key}", ranked, errors)
    elif shown != actual:
        errors.append(f"{path}: {actual!r}, shown {shown!r}")


failures = 0
for index, command in enumerate(commands):
    output, code = outputs.get(index, ("", None))
    label = command.strip()[:110]
    errors = []
    if code != 0:
        errors.append(f"exit status {code}")
    if command.lstrip().startswith("curl "):
        answer = answers[curls.index(command)]
        status_match = re.search(r"\n?@@status (\d+)$", output)
        status = int(status_match.group(1)) if status_match else None
        text = output[: status_match.start()] if status_match else output
        headers, body_text = {}, text.strip()
        if text.startswith("HTTP/"):
            head, _, body_text = text.replace("\r\n", "\n").partition("\n\n")
            for line in head.splitlines()[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        body = None
        try:
            body = json.loads(body_text) if body_text else None
        except json.JSONDecodeError:
            errors.append(f"the answer is not JSON: {body_text[:200]!r}")
        expected = answer["status"]
        is_error = isinstance(answer["body"], dict) and "error" in answer["body"]
        if expected is not None and status != expected:
            errors.append(f"status {status}, shown {expected}")
        elif expected is None and not (400 <= (status or 0) < 500 if is_error else 200 <= (status or 0) < 300):
            errors.append(f"status {status}, expected {'4xx' if is_error else '2xx'}")
        for name, value in answer["headers"].items():
            if name in ("date", "content-length"):
                continue
            if headers.get(name) != value:
                errors.append(f"header {name}: {headers.get(name)!r}, shown {value!r}")
        if body is not None and answer["body"] is not None:
            where = "recommendations" if "/recommendations" in command else "body"
            compare(answer["body"], body, where, "candidates=" in command, errors)
        print(f"{'ok  ' if not errors else 'FAIL'} {status} {label}")
    else:
        print(f"{'ok  ' if not errors else 'FAIL'}     {label}")
    for error in errors:
        print(f"       {error}")
    if errors:
        print(f"       output: {output[:600]}")
        failures += 1
print(f"{len(commands) - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
PYTHON
if grep -n '"status":5\|internal error\|failed: ' "$work/server.log"; then
    echo "the server logged an internal error"
    status=1
fi
exit $status
