#!/usr/bin/env bash
# Runs one KubeNode: containerd, then the kubelet. KubeNode starts it as
#   unshare --mount --pid --fork --kill-child --mount-proc --propagation private bash kubenode.sh DIR IMAGES KUBELET ARGS...
# so that it is PID 1 of its own PID namespace (when it ends, the kernel kills containerd, the kubelet,
# the shims and every container with it) and its mounts stay private: /run, /var/lib and /var/log
# get private tmpfs copies here, so the paths containerd and the kubelet hard-code (/run/containerd,
# /var/lib/kubelet, /var/lib/cni, /var/log/pods, netns bind mounts ...) never reach the host.
# What lives outside namespaces (the CNI bridge, cgroups) KubeNode removes after this has ended.
# Every mount uses -n: nothing is written to the host's /run/mount/utab.
set -euo pipefail
dir="$1"; images="$2"; kubelet="$3"; shift 3

for d in /run /var/lib /var/log; do
  mount -n -t tmpfs -o mode=0755,size=512m kubejit-node "$d"
done

# The kubelet sets six kernel tunables that are not namespaced (vm.overcommit_memory, kernel.panic,
# ...). Each gets a private file with the value it wants, bind-mounted over /proc/sys in this mount
# namespace only, so the kubelet finds them as wanted and the host's values stay untouched.
mkdir -p "$dir/sysctl"
for t in vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1 \
         kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000; do
  key="${t%%=*}"
  printf '%s\n' "${t#*=}" >"$dir/sysctl/${key//\//.}"
  mount -n --bind "$dir/sysctl/${key//\//.}" "/proc/sys/$key"
done

sock=/run/containerd/containerd.sock
containerd --config "$dir/containerd.toml" >"$dir/logs/containerd.log" 2>&1 &
containerd_pid=$!
for _ in $(seq 150); do
  if ctr --address "$sock" version >/dev/null 2>&1; then break; fi
  kill -0 "$containerd_pid" 2>/dev/null || { echo "kubenode: containerd exited during startup" >&2; exit 1; }
  sleep 0.2
done
ctr --address "$sock" version >/dev/null || { echo "kubenode: containerd not answering on $sock" >&2; exit 1; }
for image in "$images"/pause.tar "$images"/busybox.tar; do
  ctr --address "$sock" --namespace k8s.io images import "$image" >>"$dir/logs/images.log" 2>&1
done
echo "kubenode: containerd up, images imported" >&2

"$kubelet" "$@" >"$dir/logs/kubelet.log" 2>&1 &
kubelet_pid=$!
echo "kubenode: kubelet started" >&2
# Ends (and with it the whole namespace) as soon as either daemon ends.
set +e
wait -n "$containerd_pid" "$kubelet_pid"
code=$?
echo "kubenode: $( kill -0 "$kubelet_pid" 2>/dev/null && echo containerd || echo kubelet) exited with code $code" >&2
exit 1
