#!/usr/bin/env bash
# Builds a CPU-only kit for the accelerator host, for benchmarks that need its cores and not its GPU
# (bench:server-scaling, bench:server-c1): Node itself and the project's node_modules with onnxruntime-node cut
# to its linux-x64 CPU build and without the dev-only tools (biome, buf, typescript, kubernetes-models, ...).
# Two parts of at most 31 MiB instead of the GPU kit's six, so two `run` calls install it.
#
# usage: bash test/bench/device/make-cpu-kit.sh        (from the project root, after `npm install`)
# result: .cpukit/p0 and .cpukit/p1 (ignored by git). On the device, back to back (the host is taken back
# after 30 s idle):
#   run 1, carry [".cpukit/p0"]:  mkdir -p /tmp/kit && cp -r .cpukit/p0/. /tmp/kit/
#   run 2, carry [".cpukit/p1"]:  cp -r .cpukit/p1/. /tmp/kit/ && bash /tmp/kit/unpack.sh && export PATH=/tmp/kit/bin:$PATH
#                                  && ln -sfn /tmp/kit/node_modules node_modules && <your benchmark>
# Every later call must make the node_modules link again (the working tree is sent afresh each call) and put
# /tmp/kit/bin first on PATH.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
[ -d node_modules/onnxruntime-node ] || { echo "make-cpu-kit: run npm install first" >&2; exit 2; }
grep -qx '/.cpukit/' .git/info/exclude 2>/dev/null || echo '/.cpukit/' >> .git/info/exclude
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
stage="$work/stage"; mkdir -p "$stage/bin"
cp "$(readlink -f "$(command -v node)")" "$stage/bin/node"
cp -a node_modules "$stage/node_modules"
nm="$stage/node_modules"
rm -rf "$nm/@biomejs" "$nm/@bufbuild/buf" "$nm/@bufbuild/buf-linux-x64" "$nm/@bufbuild/protoplugin" \
  "$nm/@bufbuild/protoc-gen-es" "$nm/typescript" "$nm/kubernetes-models" "$nm/@types" "$nm/fast-check" "$nm/autocannon"
ortbin="$nm/onnxruntime-node/bin/napi-v6"
find "$ortbin" -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} +
find "$ortbin/linux" -mindepth 1 -maxdepth 1 ! -name x64 -exec rm -rf {} +
tar cf - -C "$stage" . | zstd -19 -T0 -q -o "$work/kit.tar.zst"
(cd "$work" && split -b 31m -d kit.tar.zst part.)
rm -rf .cpukit/p0 .cpukit/p1 && mkdir -p .cpukit/p0 .cpukit/p1
parts=("$work"/part.*)
[ ${#parts[@]} -eq 2 ] || { echo "make-cpu-kit: expected 2 parts, got ${#parts[@]}: trim node_modules further" >&2; exit 1; }
mv "${parts[0]}" .cpukit/p0/ && mv "${parts[1]}" .cpukit/p1/
cp "$(command -v zstd)" .cpukit/p0/zstd
cat > .cpukit/p0/unpack.sh <<'UNPACK'
#!/usr/bin/env bash
# run on the accelerator host once both parts are in /tmp/kit: unpacks the kit in place
set -e
cd /tmp/kit && cat part.* | ./zstd -d -q | tar xf - && rm -f part.* && echo "kit unpacked: $(ls /tmp/kit | tr '\n' ' ')"
UNPACK
chmod +x .cpukit/p0/unpack.sh
echo "CPU kit: $(du -sh .cpukit/p0 .cpukit/p1 | tr '\n' ' ')"
