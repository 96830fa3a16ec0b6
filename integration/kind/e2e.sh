#!/usr/bin/env bash
# FerroLB on a real cluster: builds the images, creates a kind cluster (three nodes), runs BIRD
# in a container on kind's Docker network as the upstream router, deploys FerroLB from deploy/
# (integration/kind/overlay), and checks that a LoadBalancer Service gets an address, that BIRD
# learns it from all three nodes, and that BIRD's host reaches the Service through that route.
#
#   ./integration/kind/e2e.sh        # needs docker, kind and kubectl; removes everything at exit
#
# Needs a Docker engine, so it does not run in this repository's CI.
set -euo pipefail
cd "$(dirname "$0")/../.."

CLUSTER="${CLUSTER:-ferrolb-e2e}"
BIRD=ferrolb-e2e-bird
POOL=198.51.100.0/28
for tool in docker kind kubectl; do
    command -v "$tool" >/dev/null || { echo "e2e: $tool is missing" >&2; exit 2; }
done

cleanup() {
    docker rm -f "$BIRD" >/dev/null 2>&1 || true
    kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "==> images"
for program in ferrolb-controller ferrolb-speaker; do
    docker build -q -f "deploy/docker/$program.Dockerfile" -t "ghcr.io/ferrolb/$program:e2e" .
done

echo "==> kind cluster $CLUSTER"
kind create cluster --name "$CLUSTER" --config integration/kind/kind.yaml --wait 120s
for program in ferrolb-controller ferrolb-speaker; do
    kind load docker-image --name "$CLUSTER" "ghcr.io/ferrolb/$program:e2e"
done
SUBNET="$(docker network inspect kind -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' | tr ' ' '\n' | grep -v : | head -n1)"

echo "==> BIRD on the kind network ($SUBNET), AS 64512, accepting the nodes (AS 64513)"
docker run -d --name "$BIRD" --network kind --cap-add NET_ADMIN debian:bookworm-slim sleep infinity >/dev/null
docker exec "$BIRD" sh -c 'apt-get update -qq && apt-get install -y -qq bird2 curl >/dev/null'
BIRD_IP="$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$BIRD")"
docker exec -i "$BIRD" sh -c 'cat > /etc/bird/bird.conf' <<CONF
router id $BIRD_IP;
protocol device {}
protocol kernel { ipv4 { export all; }; merge paths on; }
protocol bgp nodes {
    local $BIRD_IP as 64512;
    neighbor range $SUBNET as 64513;
    hold time 9;
    ipv4 { import where net ~ [ $POOL{32,32} ]; export none; };
}
CONF
docker exec "$BIRD" sh -c 'mkdir -p /run/bird && bird -c /etc/bird/bird.conf'

echo "==> FerroLB"
kubectl apply -f deploy/namespace.yaml
kubectl -n ferrolb-system create secret generic ferrolb-memberlist \
    --from-literal=secretkey="$(head -c 32 /dev/urandom | base64)"
kubectl apply -k integration/kind/overlay
kubectl -n ferrolb-system rollout status deployment/ferrolb-controller --timeout=180s
kubectl -n ferrolb-system rollout status daemonset/ferrolb-speaker --timeout=180s
kubectl apply -f - <<YAML
apiVersion: ferrolb.io/v1alpha1
kind: IPAddressPool
metadata: {name: e2e, namespace: ferrolb-system}
spec: {addresses: [$POOL]}
---
apiVersion: ferrolb.io/v1alpha1
kind: BGPPeer
metadata: {name: bird, namespace: ferrolb-system}
spec: {myASN: 64513, peerASN: 64512, peerAddress: $BIRD_IP, holdTime: 9s}
---
apiVersion: ferrolb.io/v1alpha1
kind: BGPAdvertisement
metadata: {name: e2e, namespace: ferrolb-system}
spec: {ipAddressPools: [e2e]}
YAML

echo "==> a Service"
kubectl create deployment web --image=registry.k8s.io/e2e-test-images/agnhost:2.47 --replicas=3 \
    -- /agnhost netexec --http-port=8080
kubectl expose deployment web --type=LoadBalancer --port=80 --target-port=8080
kubectl rollout status deployment/web --timeout=180s
IP=""
for _ in $(seq 1 60); do
    IP="$(kubectl get service web -o jsonpath='{.status.loadBalancer.ingress[0].ip}')"
    [ -n "$IP" ] && break
    sleep 2
done
[ -n "$IP" ] || { echo "e2e: FAIL: no address assigned" >&2; exit 1; }
echo "web got $IP"

paths=0
for _ in $(seq 1 60); do
    paths="$(docker exec "$BIRD" birdc -r show route "$IP/32" all | grep -c 'BGP.as_path: 64513' || true)"
    [ "$paths" -ge 3 ] && break
    sleep 2
done
docker exec "$BIRD" birdc -r show route "$IP/32"
[ "$paths" -ge 3 ] || { echo "e2e: FAIL: BIRD has $paths paths to $IP, not 3" >&2; exit 1; }

answer="$(docker exec "$BIRD" curl -fsS --max-time 5 "http://$IP/hostname")"
echo "http://$IP/hostname answered by pod $answer"
echo "e2e: PASS"
