"""What authorization costs: the same lab, the same requests, as the default administrator
(whose policy allows everything) and as an IAM user with a limited identity policy on a
repository that also has a repository policy (both evaluated on every request).

    python tests/bench/bench_authz.py [--seconds 8] [--connections 8] [--reps 3] [--images 12]

Measures, alternating which identity goes first in each repetition (medians reported):
- blob HEAD and manifest GET requests per second (hey, keep-alive connections): the requests
  `docker push` and `docker pull` make most;
- `skopeo copy` push then pull of --images fresh small images (each its own new layer): every
  registry route of a push and a pull, with a real client;
- the lab process's CPU seconds in each phase (less skewed by a busy machine than wall time).

Cost = 1 - user/admin for throughput, user/admin - 1 for time and CPU; target <= 10% (issue 19).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench._common import (  # noqa: E402
    cpu_seconds,
    ecr_client,
    free_port,
    load_note,
    log,
    make_image,
    median,
    require,
    run,
    tempdir,
    write_oci_layout,
)

TARGET = 0.10


def hey(url: str, method: str, password: str, seconds: int, conns: int) -> float:
    auth = base64.b64encode(f"AWS:{password}".encode()).decode()
    r = subprocess.run(["hey", "-z", f"{seconds}s", "-c", str(conns), "-m", method, "-H",
                        f"Authorization: Basic {auth}", url], capture_output=True, text=True,
                       timeout=seconds + 60)
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    codes = re.findall(r"\[(\d{3})\]\s+\d+ responses", r.stdout)
    if not m or any(not c.startswith("2") for c in codes):
        raise RuntimeError(f"hey failed or saw errors:\n{r.stdout}\n{r.stderr}")
    return float(m.group(1))


def make_user(endpoint: str, region: str, account: str, repo: str) -> tuple[str, str]:
    """An IAM user allowed push and pull on `repo` only (and GetAuthorizationToken)."""
    import boto3

    from labkit import config

    iam = boto3.client("iam", endpoint_url=endpoint, region_name=region,
                       aws_access_key_id=config.LAB_ACCESS_KEY,
                       aws_secret_access_key=config.LAB_SECRET_KEY)
    iam.create_user(UserName="bench-ci")
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Effect": "Allow", "Action": [
            "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
            "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage",
            "ecr:GetDownloadUrlForLayer"],
         "Resource": f"arn:aws:ecr:{region}:{account}:repository/{repo}"}]}
    iam.put_user_policy(UserName="bench-ci", PolicyName="push-pull",
                        PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="bench-ci")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def password_of(endpoint: str, region: str, key: str | None = None,
                secret: str | None = None) -> str:
    import boto3

    ecr = ecr_client(endpoint, region) if key is None else boto3.client(
        "ecr", endpoint_url=endpoint, region_name=region, aws_access_key_id=key,
        aws_secret_access_key=secret)
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    return base64.b64decode(token).decode().partition(":")[2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--images", type=int, default=12)
    args = ap.parse_args(argv)
    require("hey", "skopeo")
    started_load = os.getloadavg()[0]
    from labkit.lab import process

    with tempdir("labkit-bench-authz-") as work:
        home = work / "lab-home"
        lab = process.start(home, port=free_port())
        try:
            endpoint, region = lab.endpoint_url, lab.region
            repo = "bench-authz"
            admin_ecr = ecr_client(endpoint, region)
            admin_ecr.create_repository(repositoryName=repo)
            key, secret = make_user(endpoint, region, lab.account_id, repo)
            # a repository policy too, so every request evaluates both kinds of policy
            admin_ecr.set_repository_policy(repositoryName=repo, policyText=json.dumps({
                "Version": "2012-10-17", "Statement": [{
                    "Sid": "no-deletes", "Effect": "Deny", "Principal": "*",
                    "Action": ["ecr:DeleteRepository"]}]}))
            who = {"admin": password_of(endpoint, region),
                   "user": password_of(endpoint, region, key, secret)}
            seed = make_image(work / "seed", 64 << 10, "seed")
            run(["skopeo", "copy", "--dest-tls-verify=false", "--dest-creds",
                 f"AWS:{who['admin']}", write_oci_layout(seed, work / "seed-oci"),
                 f"docker://{lab.registry}/{repo}:seed"])
            blob = f"{endpoint}/v2/{repo}/blobs/{seed.layer_digest}"
            manifest = f"{endpoint}/v2/{repo}/manifests/seed"
            results: dict[str, dict[str, list[float]]] = {
                name: {"head": [], "get": [], "head_cpu": [], "copy": [], "copy_cpu": []}
                for name in who}
            for rep in range(args.reps):
                order = list(who) if rep % 2 == 0 else list(reversed(who))
                for name in order:
                    pw = who[name]
                    log(f"rep {rep + 1}: {name}: blob HEAD, manifest GET")
                    cpu0 = cpu_seconds(lab.pid)
                    results[name]["head"].append(hey(blob, "HEAD", pw, args.seconds,
                                                     args.connections))
                    results[name]["head_cpu"].append(cpu_seconds(lab.pid) - cpu0)
                    results[name]["get"].append(hey(manifest, "GET", pw, args.seconds,
                                                    args.connections))
                    log(f"rep {rep + 1}: {name}: skopeo push+pull of {args.images} images")
                    layouts = [write_oci_layout(make_image(work / f"i-{name}-{rep}-{i}",
                                                           32 << 10, f"{name}{rep}{i}"),
                                                work / f"oci-{name}-{rep}-{i}")
                               for i in range(args.images)]
                    creds = f"AWS:{pw}"
                    cpu0, t0 = cpu_seconds(lab.pid), time.perf_counter()
                    for i, layout in enumerate(layouts):
                        ref = f"docker://{lab.registry}/{repo}:{name}-{rep}-{i}"
                        run(["skopeo", "copy", "--dest-tls-verify=false", "--dest-creds",
                             creds, layout, ref])
                        run(["skopeo", "copy", "--src-tls-verify=false", "--src-creds", creds,
                             ref, f"dir:{work / f'pulled-{name}-{rep}-{i}'}"])
                    results[name]["copy"].append(time.perf_counter() - t0)
                    results[name]["copy_cpu"].append(cpu_seconds(lab.pid) - cpu0)
        finally:
            process.stop(home)

    def row(what: str, key_: str, higher_is_better: bool, fmt: str,
            per: Callable[[str], float] = lambda n: 1.0) -> tuple[str, ...]:
        a = median(results["admin"][key_]) / per("admin")
        u = median(results["user"][key_]) / per("user")
        cost = (1 - u / a) if higher_is_better else (u / a - 1)
        return (what, format(a, fmt), format(u, fmt), f"{cost:+.1%}",
                "met" if cost <= TARGET else "MISSED")

    head_per_request: Callable[[str], float] = lambda n: (  # noqa: E731
        median(results[n]["head"]) * args.seconds / 1e6)  # CPU µs per HEAD
    rows = [
        row("blob HEAD, requests/s", "head", True, ".0f"),
        row("manifest GET, requests/s", "get", True, ".0f"),
        row("lab CPU per blob HEAD, µs", "head_cpu", False, ".1f", head_per_request),
        row(f"skopeo push+pull x{args.images}, s", "copy", False, ".2f"),
        row(f"lab CPU in push+pull x{args.images}, s", "copy_cpu", False, ".2f"),
    ]
    headers = ("measure", "default admin", "IAM user + repo policy", "cost", f"<= {TARGET:.0%}")
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    print(f"\n## Authorization cost (medians of {args.reps}; {args.connections} connections, "
          f"{args.seconds}s each)\n")
    for i, r in enumerate([headers, *rows]):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print(f"\n{load_note(started_load)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
