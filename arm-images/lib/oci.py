#!/usr/bin/env python3
"""Reads an image tarball (OCI layout, as Jib's buildTar writes it, or `docker save` format).

    oci.py config TAR               the image config (JSON) on stdout
    oci.py unpack TAR DEST          extracts the layers in order into DEST (whiteouts applied),
                                    writes DEST.config.json, prints a summary
    oci.py layers TAR               one line per layer: compressed size, uncompressed size, digest
"""
import gzip
import io
import json
import os
import shutil
import sys
import tarfile


def _read(tar, name):
    return tar.extractfile(name.lstrip("./")).read()


def _manifest(tar):
    names = set(tar.getnames())
    if "index.json" in names:
        index = json.loads(_read(tar, "index.json"))
        desc = index["manifests"][0]
        manifest = json.loads(_read(tar, "blobs/" + desc["digest"].replace(":", "/")))
        if "manifests" in manifest:  # an index inside: take the first image
            desc = manifest["manifests"][0]
            manifest = json.loads(_read(tar, "blobs/" + desc["digest"].replace(":", "/")))
        config = json.loads(_read(tar, "blobs/" + manifest["config"]["digest"].replace(":", "/")))
        layers = ["blobs/" + l["digest"].replace(":", "/") for l in manifest["layers"]]
        return config, layers
    docker = json.loads(_read(tar, "manifest.json"))[0]
    return json.loads(_read(tar, docker["Config"])), docker["Layers"]


def _layer(tar, name):
    data = _read(tar, name)
    if data[:2] == b"\x1f\x8b":
        return data, gzip.decompress(data)
    return data, data


def config(path):
    with tarfile.open(path) as tar:
        print(json.dumps(_manifest(tar)[0], indent=2))


def layers(path):
    with tarfile.open(path) as tar:
        _, names = _manifest(tar)
        for n in names:
            packed, raw = _layer(tar, n)
            print(f"{len(packed):>10} {len(raw):>10} {n.split('/')[-1][:12]}")


def unpack(path, dest):
    if os.path.exists(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)
    total = 0
    with tarfile.open(path) as tar:
        cfg, names = _manifest(tar)
        for n in names:
            _, raw = _layer(tar, n)
            total += len(raw)
            with tarfile.open(fileobj=io.BytesIO(raw)) as layer:
                members = []
                for m in layer.getmembers():
                    base = os.path.basename(m.name)
                    parent = os.path.dirname(m.name)
                    if base == ".wh..wh..opq":
                        target = os.path.join(dest, parent)
                        for entry in os.listdir(target) if os.path.isdir(target) else []:
                            p = os.path.join(target, entry)
                            shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.remove(p)
                        continue
                    if base.startswith(".wh."):
                        p = os.path.join(dest, parent, base[4:])
                        if os.path.isdir(p) and not os.path.islink(p):
                            shutil.rmtree(p)
                        elif os.path.lexists(p):
                            os.remove(p)
                        continue
                    members.append(m)
                layer.extractall(dest, members=members, numeric_owner=True, filter="fully_trusted")
    with open(dest.rstrip("/") + ".config.json", "w") as f:
        json.dump(cfg, f, indent=2)
    print(f"unpacked {len(names)} layers, {total / 1e6:.1f} MB, {cfg.get('architecture')}/{cfg.get('os')} into {dest}")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "config" and len(sys.argv) == 3:
        config(sys.argv[2])
    elif cmd == "layers" and len(sys.argv) == 3:
        layers(sys.argv[2])
    elif cmd == "unpack" and len(sys.argv) == 4:
        unpack(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
