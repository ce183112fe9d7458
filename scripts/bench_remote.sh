#!/usr/bin/env bash
# Measures remote reads and writes the "Remote reads" section of BENCHMARKS.md (between
# its markers; scripts/benchmarks.sh keeps the section when it rewrites the rest):
#  - `artifact inspect` of a 4 GiB single-array joblib on moto's S3 server and over HTTP
#    (nginx), beside download-then-scan (curl from nginx: the bytes `aws s3 cp` moves) and
#    picklescan's URL mode;
#  - `artifact check` of a 2,000-object prefix, beside downloading it and checking the folder.
# Needs what scripts/test.sh installs (.venv with moto, nginx) and about 10 GiB of memory
# for moto, which keeps objects in memory.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "run scripts/test.sh first (it creates .venv)" >&2; exit 2; }
.venv/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
cargo build --release --quiet --features remote
bin=$PWD/target/release/artifact
work=$(mktemp -d)
timing=$(mktemp)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work" "$timing"
}
trap cleanup EXIT

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "no server on $1" >&2; exit 2; }

s3_port=$(free_port)
.venv/bin/moto_server -H 127.0.0.1 -p "$s3_port" >/dev/null 2>&1 &
pids+=($!)
http_port=$(free_port)
https_port=$(free_port)
mkdir -p "$work/www"
# picklescan's URL mode speaks HTTPS only: a certificate for 127.0.0.1 it is told to trust.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat > "$work/nginx.conf" <<EOF
daemon off;
master_process off;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $work/body;
  proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fastcgi;
  uwsgi_temp_path $work/uwsgi;
  scgi_temp_path $work/scgi;
  server { listen 127.0.0.1:$http_port; root $work/www; }
  server {
    listen 127.0.0.1:$https_port ssl;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    root $work/www;
  }
}
EOF
nginx -c "$work/nginx.conf" -e stderr 2>/dev/null &
pids+=($!)
wait_port "$s3_port"
wait_port "$http_port"
wait_port "$https_port"
export AWS_ENDPOINT_URL=http://127.0.0.1:$s3_port AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1

size=$((4 << 30))
big=$work/www/big_array.joblib
.venv/bin/python tests/remote/big_joblib.py "$big" "$size"
file_size=$(stat -c %s "$big")
.venv/bin/python - "$big" <<'EOF'
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
s3.create_bucket(Bucket="bench")
s3.upload_file(sys.argv[1], "bench", "big_array.joblib")
EOF

# One table row: what | wall | peak RSS | bytes moved | requests | exit (one run: the
# transfers are the point, and the 4 GiB ones take a while).
row() {
  local label=$1 moved=$2 requests=$3
  shift 3
  /usr/bin/time -o "$timing" -f "%e %M %x" timeout 900 "$@" >"$work/out" 2>"$work/err" || true
  read -r secs kib rc < <(tail -n 1 "$timing")
  if [ "$moved" = stats ]; then
    moved=$(awk '/^stats: fetched/{print $3}' "$work/err")
    requests=$(awk '/^stats: fetched/{for(i=1;i<=NF;i++) if($i=="requests") print $(i-1)}' "$work/err")
  fi
  printf '| %s | %.2f s | %.1f MiB | %s | %s | %s |\n' "$label" "$secs" "$(echo "$kib / 1024" | bc -l)" \
    "$(numfmt --to=iec-i --suffix=B "$moved") ($(echo "scale=6; $moved / $file_size" | bc) of the file)" "$requests" "$rc"
}

section=$work/section.md
{
  echo "<!-- remote:start -->"
  echo "## Remote reads"
  echo
  echo "Produced by \`scripts/bench_remote.sh\` on $(date -u +%Y-%m-%d): moto $(.venv/bin/pip show moto | awk '/^Version/{print $2}') (S3) and"
  echo "nginx $(nginx -v 2>&1 | cut -d/ -f2) (HTTP) on loopback, one run each. \"bytes moved\" is what crossed the socket"
  echo "as the tool reports it (\`--stats\`) or the whole object for the tools that download it."
  echo
  echo "### inspect a $(numfmt --to=iec-i --suffix=B "$file_size") single-array joblib"
  echo
  echo "| what | wall | peak RSS | bytes moved | requests | exit |"
  echo "|---|---|---|---|---|---|"
  row "artifact inspect s3://" stats - "$bin" --stats inspect s3://bench/big_array.joblib
  row "artifact check s3://" stats - "$bin" --stats check s3://bench/big_array.joblib
  row "artifact inspect http://" stats - "$bin" --stats inspect "http://127.0.0.1:$http_port/big_array.joblib"
  # The download a scanner needs first, from nginx: `aws s3 cp` moves the same bytes, and
  # moto serves a 4 GiB object's ranges too slowly (minutes) to time it fairly.
  row "curl -o (the download aws s3 cp does)" "$file_size" 1 curl -sS -o "$work/downloaded.joblib" "http://127.0.0.1:$http_port/big_array.joblib"
  row "then picklescan --path on it" 0 0 .venv/bin/picklescan --path "$work/downloaded.joblib"
  rm -f "$work/downloaded.joblib"
  row "picklescan --url https://" "$file_size" 1 env SSL_CERT_FILE="$work/cert.pem" \
    .venv/bin/picklescan --url "https://127.0.0.1:$https_port/big_array.joblib"
  # What one small ranged GET costs on each server: moto reads the whole object for every
  # GET (moto/s3/models.py, FakeKey.value), so its time is per request, not per byte.
  row "curl: one 64 KiB ranged GET from moto" 65536 1 curl -sS -r 0-65535 -o /dev/null "$AWS_ENDPOINT_URL/bench/big_array.joblib"
  row "curl: one 64 KiB ranged GET from nginx" 65536 1 curl -sS -r 0-65535 -o /dev/null "http://127.0.0.1:$http_port/big_array.joblib"
  echo
  cat <<'NOTE'
A 64 KiB ranged GET costs moto 4 s on a 4 GiB object and nginx 0.01 s: moto copies the whole
object for every GET (moto/s3/models.py, FakeKey.value), so on it artifact's two requests take
seconds whatever their size; on a server whose cost follows the bytes sent (nginx here)
the same inspect takes 0.01 s. picklescan's URL mode reads the whole body into memory
before it scans (and then fails on the joblib array, exit 2), as it does on the downloaded file.
NOTE
} > "$section"

# 2,000 objects: the fixtures, cycled, under one prefix.
.venv/bin/python - <<'EOF'
import glob, os, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
files = sorted(glob.glob("fixtures/artifacts/*"))
for i in range(2000):
    src = files[i % len(files)]
    with open(src, "rb") as f:
        s3.put_object(Bucket="bench", Key=f"registry/{i:04d}-{os.path.basename(src)}", Body=f.read())
EOF
total=$(.venv/bin/python -c "
import boto3,os
s3=boto3.client('s3', endpoint_url=os.environ['AWS_ENDPOINT_URL'])
n=0
for page in s3.get_paginator('list_objects_v2').paginate(Bucket='bench', Prefix='registry/'):
    n+=sum(o['Size'] for o in page.get('Contents',[]))
print(n)")
file_size=$total
{
  echo
  echo "### check a 2,000-object prefix ($(numfmt --to=iec-i --suffix=B "$total") in all)"
  echo
  echo "artifact reads 16 objects at a time (\`check\`'s remote workers); the peers download the prefix first."
  echo
  echo "| what | wall | peak RSS | bytes moved | requests | exit |"
  echo "|---|---|---|---|---|---|"
  row "artifact check s3://bench/registry/" stats - "$bin" --stats check s3://bench/registry/
  row "boto3: download the prefix" "$total" 2000 .venv/bin/python -c "
import boto3,os,sys
s3=boto3.client('s3', endpoint_url=os.environ['AWS_ENDPOINT_URL'])
os.makedirs(sys.argv[1], exist_ok=True)
for page in s3.get_paginator('list_objects_v2').paginate(Bucket='bench', Prefix='registry/'):
    for o in page.get('Contents',[]):
        s3.download_file('bench', o['Key'], os.path.join(sys.argv[1], os.path.basename(o['Key'])))" "$work/registry"
  row "then artifact check on the folder" 0 0 "$bin" check "$work/registry"
  row "then picklescan --path on the folder" 0 0 .venv/bin/picklescan --path "$work/registry"
  echo "<!-- remote:end -->"
} >> "$section"

# Replace the section in BENCHMARKS.md (or append it).
.venv/bin/python - "$section" <<'EOF'
import re, sys
section = open(sys.argv[1]).read().rstrip("\n")
text = open("BENCHMARKS.md").read()
pattern = re.compile(r"<!-- remote:start -->.*?<!-- remote:end -->", re.S)
text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
open("BENCHMARKS.md", "w").write(text.rstrip("\n") + "\n")
EOF
echo "wrote the remote section of BENCHMARKS.md" >&2
