#!/usr/bin/env bash
# Builds the linux/arm64 and linux/amd64 image tarballs of edge-gateway (and of cloud-sync
# once its jar exists) with no Docker engine and no registry:
#
#   arm-images/build.sh                    # both images that have a jar, both architectures
#   arm-images/build.sh --build-jars       # first `mvn package` the modules (offline, no tests)
#   arm-images/build.sh --arch arm64 --image edge-gateway --no-aot
#
# Steps (each cached under arm-images/target/, so a rebuild only redoes what changed):
#   1. sysroot: Debian trixie's OpenJDK 25 (its jmods) and the libc it needs, per architecture,
#      fetched with a private APT state (the system's apt is not touched) and unpacked.
#   2. runtime: the x86 jlink links a runtime per architecture from those jmods: the modules
#      `jdeps --print-module-deps` finds in the app jars, minus the ones only annotations or
#      optional bean support need (java.desktop pulls X11 libraries), plus jdk.crypto.ec.
#   3. base: the shared libraries that runtime needs (ELF closure from readelf), the loader,
#      /etc/passwd and /etc/group with the non-root user 65532, /tmp, the data directory.
#   4. AOT cache: a training run of the image's own JVM on the image's own file tree (chroot; for
#      arm64 the arm64 JVM under qemu-aarch64-static) that registers instances and proxies
#      requests, then -XX:AOTMode=create. The cache is a layer of its own.
#   5. image: Jib buildTar (jib-maven-plugin 3.5.2) from `scratch` with the layers
#      base, runtime, app libs, app jar, AOT cache. One tarball per image and architecture:
#      arm-images/target/<image>-<arch>.tar in Docker's archive format, tagged <tag> and <tag>-<arch>
#      (docker load / podman load / k3s ctr images import: both names).
#
# Needs: root (chroot for the training run), JDK 25 (JAVA_HOME), Maven 3.8+, apt-get, dpkg-deb,
# readelf, python3, curl; for arm64 AOT qemu-user-static (apt-get install qemu-user-static).
# Environment: JAVA_HOME, DEBIAN_MIRROR (default: the first http(s) Debian mirror of /etc/apt,
# else http://deb.debian.org/debian), EDGEGATE_IMAGES_CACHE (default arm-images/target/cache),
# IMAGE_REPO (default edgegate), IMAGE_TAG (default the Maven version).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
TARGET="$HERE/target"
CACHE=${EDGEGATE_IMAGES_CACHE:-$TARGET/cache}
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
export PATH="$JAVA_HOME/bin:$PATH"

ARCHES=(arm64 amd64)
IMAGES=(edge-gateway cloud-sync)
AOT=1
BUILD_JARS=0
APP_ROOT=$ROOT
IMAGE_REPO=${IMAGE_REPO:-edgegate}
IMAGE_TAG=${IMAGE_TAG:-$(sed -n 's:^  <version>\(.*\)</version>:\1:p' "$ROOT/pom.xml" | head -1)}
JIB="com.google.cloud.tools:jib-maven-plugin:3.5.2"
# The JDK of the images: Debian trixie's OpenJDK 25 (same build on both architectures).
JDK_PKGS=(openjdk-25-jdk-headless openjdk-25-jre-headless)
LIBC_PKGS=(libc6 zlib1g libgcc-s1 libstdc++6)
# Modules never linked although jdeps lists them: java.desktop (java.beans for optional bean
# support in Jackson and SnakeYAML; it would bring AWT and the X11 libraries), java.compiler
# (source-retention annotations only). Added: jdk.crypto.ec (TLS with EC keys on older clients
# of the module graph; empty but harmless on 25), jdk.unsupported (sun.misc.Unsafe: JCTools,
# Agrona), jdk.zipfs is not needed.
EXCLUDE_MODULES=${EXCLUDE_MODULES:-java.desktop,java.compiler}
EXTRA_MODULES=${EXTRA_MODULES:-jdk.crypto.ec,jdk.unsupported}
APP_UID=65532

usage() { sed -n '2,30p' "$0"; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) IFS=, read -r -a ARCHES <<< "$2"; shift 2 ;;
    --image) IFS=, read -r -a IMAGES <<< "$2"; shift 2 ;;
    --no-aot) AOT=0; shift ;;
    --build-jars) BUILD_JARS=1; shift ;;
    --app-root) APP_ROOT=$(cd "$2" && pwd); shift 2 ;;
    -h|--help) usage ;;
    *) echo "unknown option $1" >&2; usage 2 ;;
  esac
done

log() { printf '%s [build] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local m
  m=$(grep -hsE '^(URIs:|deb) ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
      | grep -oE 'https?://[^ ]*/debian/?' | grep -v security | head -1 || true)
  echo "${m:-http://deb.debian.org/debian}"
}

deb_arch() { case "$1" in arm64) echo arm64 ;; amd64) echo amd64 ;; *) die "unknown arch $1" ;; esac; }
triplet() { case "$1" in arm64) echo aarch64-linux-gnu ;; amd64) echo x86_64-linux-gnu ;; esac; }
loader() { case "$1" in arm64) echo /lib/ld-linux-aarch64.so.1 ;; amd64) echo /lib64/ld-linux-x86-64.so.2 ;; esac; }
host_arch() { case "$(uname -m)" in x86_64) echo amd64 ;; aarch64) echo arm64 ;; *) uname -m ;; esac; }

# --- 1. sysroot -----------------------------------------------------------------------------
# $CACHE/sysroot-<arch>: trixie's JDK 25 + libc unpacked; idempotent (a stamp names the packages).
sysroot() {
  local arch=$1 apt="$CACHE/apt-$1" dir="$CACHE/sysroot-$1"
  local want="${JDK_PKGS[*]} ${LIBC_PKGS[*]}"
  if [ -f "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$want" ]; then
    log "sysroot $arch: cached ($(cat "$dir/.versions" | tr '\n' ' '))"
    return
  fi
  log "sysroot $arch: fetching ${want} from trixie ($(debian_mirror))"
  mkdir -p "$apt"/{state/lists/partial,cache/archives/partial,etc,debs}
  : > "$apt/state/status"
  cat > "$apt/etc/apt.conf" <<EOF
Dir::State "$apt/state";
Dir::State::status "$apt/state/status";
Dir::Cache "$apt/cache";
Dir::Etc::SourceList "$apt/etc/sources.list";
Dir::Etc::SourceParts "/dev/null";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "/dev/null";
APT::Architecture "$(deb_arch "$arch")";
APT::Architectures { "$(deb_arch "$arch")"; };
APT::Sandbox::User "root";
EOF
  echo "deb [arch=$(deb_arch "$arch") signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_mirror) trixie main" \
    > "$apt/etc/sources.list"
  APT_CONFIG="$apt/etc/apt.conf" apt-get -q update >/dev/null
  rm -f "$apt"/debs/*.deb
  (cd "$apt/debs" && APT_CONFIG="$apt/etc/apt.conf" apt-get -q download $want >/dev/null)
  rm -rf "$dir" && mkdir -p "$dir"
  local deb
  for deb in "$apt"/debs/*.deb; do dpkg-deb -x "$deb" "$dir"; done
  # merged /usr: the loader's path in every ELF file is /lib/... (and /lib64/... on amd64)
  [ -e "$dir/lib" ] || ln -s usr/lib "$dir/lib"
  [ "$arch" != amd64 ] || [ -e "$dir/lib64" ] || ln -s usr/lib64 "$dir/lib64"
  # the JDK's conf/ entries are absolute symlinks into /etc: point them into the sysroot
  local l
  find "$dir/usr/lib/jvm" -type l | while read -r l; do
    case "$(readlink "$l")" in /*) ln -sfn "$dir$(readlink "$l")" "$l" ;; esac
  done
  (cd "$apt/debs" && ls -- *.deb) > "$dir/.versions"
  echo "$want" > "$dir/.complete"
  rm -f "$apt"/debs/*.deb
  log "sysroot $arch: $(du -sh "$dir" | cut -f1)"
}

jdk_home() { echo "$CACHE/sysroot-$1/usr/lib/jvm/java-25-openjdk-$(deb_arch "$1")"; }

# --- 2. runtime ------------------------------------------------------------------------------
app_dir() { echo "$APP_ROOT/$1/target"; }
have_app() { [ -f "$(app_dir "$1")/$1.jar" ]; }

# The modules of every app image, one list for all (one runtime per architecture).
modules() {
  local jars=() img
  for img in "${IMAGES[@]}"; do
    have_app "$img" || continue
    jars+=("$(app_dir "$img")/$img.jar")
  done
  local found="" j
  for j in "${jars[@]}"; do
    found+=",$(jdeps --multi-release 25 --ignore-missing-deps --print-module-deps \
      "$j" "$(dirname "$j")"/lib/*.jar 2>/dev/null | tail -1)"
  done
  found+=",$EXTRA_MODULES"
  echo "$found" | tr ',' '\n' | grep -v '^$' | grep -vxF -f <(echo "$EXCLUDE_MODULES" | tr ',' '\n') | sort -u | paste -sd,
}

strip_for() {
  local want
  case "$1" in arm64) want=aarch64-linux-gnu-strip ;; amd64) want=x86_64-linux-gnu-strip ;; esac
  if command -v "$want" >/dev/null; then command -v "$want"
  elif [ "$(host_arch)" = "$1" ] && command -v strip >/dev/null; then command -v strip
  fi
}

runtime() {
  local arch=$1 out="$TARGET/runtime-$1" mods
  mods=$(modules)
  # the key: modules, packages, and this recipe itself
  local key="$mods $(cat "$CACHE/sysroot-$arch/.versions" | tr '\n' ' ') $(declare -f runtime strip_for | md5sum | cut -c1-12)"
  if [ -f "$out/.complete" ] && [ "$(cat "$out/.complete")" = "$key" ]; then
    log "runtime $arch: cached ($mods)"
    return
  fi
  log "runtime $arch: jlink --add-modules $mods"
  rm -rf "$out"
  # Debian's jmods carry *.debuginfo files and libraries with symbol tables. jlink's own native
  # stripping runs the host's objcopy (which cannot read arm64 files): drop the debuginfo files
  # in jlink, then strip the ELF files with the strip for the target (binutils-aarch64-linux-gnu
  # for arm64; without it they keep their symbol tables, about 6 MB more).
  jlink --module-path "$(jdk_home "$arch")/jmods" --add-modules "$mods" --output "$out/opt/java" \
    --strip-java-debug-attributes '--exclude-files=**.debuginfo' --no-header-files --no-man-pages \
    --compress=zip-6 2>&1 | grep -v 'deprecated' >&2 || true
  local strip; strip=$(strip_for "$arch")
  if [ -n "$strip" ]; then
    find "$out/opt/java" -type f \( -name '*.so' -o -path '*/bin/*' -o -name jspawnhelper -o -name jexec \) \
      -exec "$strip" --strip-unneeded {} +
  else
    log "runtime $arch: no strip for $arch (apt-get install binutils-aarch64-linux-gnu): not stripped"
  fi
  [ -x "$out/opt/java/bin/java" ] || die "jlink failed for $arch"
  # Debian links lib/security/cacerts to /etc/ssl/certs/java: use the build JDK's CA store.
  rm -f "$out/opt/java/lib/security/cacerts"
  cp "$JAVA_HOME/lib/security/cacerts" "$out/opt/java/lib/security/cacerts"
  # the image's files all carry Jib's time stamp; so does the tree the AOT training run sees
  find "$out/opt" -exec touch -h -d @1 {} +
  echo "$key" > "$out/.complete"
  log "runtime $arch: $(du -sh "$out/opt/java" | cut -f1)"
}

# --- 3. base ---------------------------------------------------------------------------------
# The runtime's shared-library closure from the sysroot, the loader, and a minimal /etc.
base() {
  local arch=$1 out="$TARGET/base-$1" sys="$CACHE/sysroot-$1" trip
  trip=$(triplet "$arch")
  rm -rf "$out" && mkdir -p "$out/usr/lib/$trip" "$out/etc" "$out/tmp" "$out/var/lib/edgegate" "$out/app" \
    "$out/proc" "$out/dev" "$out/sys"
  local needed=() seen=" " queue=() f lib
  while read -r f; do queue+=("$f"); done < <(find "$TARGET/runtime-$arch/opt/java" -type f \( -name '*.so' -o -path '*/bin/*' \))
  while [ ${#queue[@]} -gt 0 ]; do
    f=${queue[0]}; queue=("${queue[@]:1}")
    for lib in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      case "$seen" in *" $lib "*) continue ;; esac
      seen+="$lib "
      [ -e "$TARGET/runtime-$arch/opt/java/lib/$lib" ] && continue
      [ -e "$TARGET/runtime-$arch/opt/java/lib/server/$lib" ] && continue
      [ "$lib" = "$(basename "$(loader "$arch")")" ] && continue  # the loader: copied below
      local src="$sys/usr/lib/$trip/$lib"
      [ -e "$src" ] || die "base $arch: $lib (needed by ${f##*/}) not in the sysroot"
      cp -L "$src" "$out/usr/lib/$trip/$lib"
      queue+=("$src")
      needed+=("$lib")
    done
  done
  # the loader, at the path written in every ELF file (no /lib symlink: Jib does not keep links)
  local ld; ld=$(loader "$arch")
  mkdir -p "$out$(dirname "$ld")"
  cp -L "$sys/usr/lib/$trip/$(basename "$ld")" "$out$ld"
  # Debian's loader searches /usr/lib/<triplet> without an ld.so.cache; the JDK's own libraries
  # are found through $ORIGIN.
  cat > "$out/etc/passwd" <<EOF
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:$APP_UID:$APP_UID:nonroot:/home/nonroot:/sbin/nologin
EOF
  cat > "$out/etc/group" <<EOF
root:x:0:
nonroot:x:$APP_UID:
EOF
  printf 'hosts: files dns\n' > "$out/etc/nsswitch.conf"
  mkdir -p "$out/home/nonroot"
  find "$out" -exec touch -h -d @1 {} +
  printf '%s\n' "${needed[@]}" > "$TARGET/base-$arch.libs"
  log "base $arch: $(du -sh "$out" | cut -f1) (${needed[*]})"
}

# --- app -------------------------------------------------------------------------------------
stage_app() {
  local img=$1 out="$TARGET/app-$1"
  rm -rf "$out" && mkdir -p "$out/libs/app/lib" "$out/jar/app"
  cp "$(app_dir "$img")"/lib/*.jar "$out/libs/app/lib/"
  cp "$(app_dir "$img")/$img.jar" "$out/jar/app/"
  cp "$HERE/jvm.options" "$out/jar/app/jvm.options"
  # Jib stamps every file with 1970-01-01T00:00:01Z; the AOT cache checks the class path's
  # modification times, so the training run must see the same ones.
  find "$out" -exec touch -h -d @1 {} +
}

# --- JVM flags -------------------------------------------------------------------------------
# One file, arm-images/jvm.options (each option and why: there and in README.md), shipped in the
# image as /app/jvm.options and read by the entrypoint as a java @argfile; the AOT training run
# uses the same file, so the cache always matches the options it runs with.

# --- 4. AOT cache ----------------------------------------------------------------------------
# A training run of the image's own JVM over the image's own files, in a chroot (arm64: under
# qemu-aarch64-static copied into it), then the cache is created from the recorded configuration.
aot() {
  local img=$1 arch=$2 out="$TARGET/aot-$1-$2"
  rm -rf "$out" && mkdir -p "$out/app"
  if [ "$(id -u)" != 0 ]; then
    log "aot $img $arch: the training run needs root (chroot, mounts): built without an AOT cache"
    return 1
  fi
  local t0=$SECONDS
  if "$HERE/train.sh" --image "$img" --arch "$arch" --target "$TARGET" --output "$out/app/$img.aot" \
       --flags "@/app/jvm.options"; then
    touch -d @1 "$out/app/$img.aot"
    log "aot $img $arch: $(du -h "$out/app/$img.aot" | cut -f1) in $((SECONDS - t0)) s"
    return 0
  fi
  log "aot $img $arch: training failed; the image is built without an AOT cache"
  rm -rf "$out"
  return 1
}

# --- 5. image --------------------------------------------------------------------------------
jib_pom() {
  local img=$1 arch=$2 with_aot=$3 dir=$4 port_lines="" entry="" vol="" env_lines=""
  entry+="<entrypoint><arg>/opt/java/bin/java</arg><arg>@/app/jvm.options</arg>"
  [ "$with_aot" = 1 ] && entry+="<arg>-XX:AOTCache=/app/$img.aot</arg>"
  entry+="<arg>-jar</arg><arg>/app/$img.jar</arg></entrypoint>"
  case "$img" in
    edge-gateway)
      port_lines="<port>8080</port><port>8500</port>"
      vol="<volume>/var/lib/edgegate</volume>"
      env_lines="<EDGEGATE_DATA_DIR>/var/lib/edgegate</EDGEGATE_DATA_DIR>" ;;
    cloud-sync)  # stateless: it rebuilds the fleet from the broker's retained messages
      port_lines="<port>8600</port><port>8501</port>" ;;
  esac
  local main_class
  main_class=$(unzip -p "$TARGET/app-$img/jar/app/$img.jar" META-INF/MANIFEST.MF | tr -d '\r' | sed -n 's/^Main-Class: *//p')
  local aot_path=""
  [ "$with_aot" = 1 ] && aot_path="<path><from>$TARGET/aot-$img-$arch</from><into>/</into></path>"
  cat > "$dir/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by arm-images/build.sh: the Jib configuration of $IMAGE_REPO/$img for linux/$arch -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.edgegate.images</groupId>
  <artifactId>$img-$arch</artifactId>
  <version>$IMAGE_TAG</version>
  <packaging>jar</packaging>
  <build>
    <plugins>
      <plugin>
        <groupId>com.google.cloud.tools</groupId>
        <artifactId>jib-maven-plugin</artifactId>
        <version>3.5.2</version>
        <configuration>
          <from>
            <image>scratch</image>
            <platforms><platform><architecture>$arch</architecture><os>linux</os></platform></platforms>
          </from>
          <!-- both names in the tarball (its RepoTags): the plain tag the manifests (k3s/) name, the
               same on every architecture, and the per-architecture one for a registry push -->
          <to><image>$IMAGE_REPO/$img:$IMAGE_TAG</image><tags><tag>$IMAGE_TAG-$arch</tag></tags></to>
          <outputPaths><tar>$TARGET/$img-$arch.tar</tar></outputPaths>
          <!-- the app comes in through extraDirectories; Jib's own app layers stay empty but for its
               two bookkeeping files, kept out of the way under appRoot -->
          <containerizingMode>exploded</containerizingMode>
          <extraDirectories>
            <paths>
              <path><from>$TARGET/base-$arch</from><into>/</into></path>
              <path><from>$TARGET/runtime-$arch</from><into>/</into></path>
              <path><from>$TARGET/app-$img/libs</from><into>/</into></path>
              <path><from>$TARGET/app-$img/jar</from><into>/</into></path>
              $aot_path
            </paths>
            <permissions>
              <permission><file>/tmp</file><mode>777</mode></permission>
              <permission><file>/var/lib/edgegate</file><mode>777</mode></permission>
              <permission><file>/home/nonroot</file><mode>777</mode></permission>
              <permission><file>/opt/java/bin/*</file><mode>755</mode></permission>
              <permission><file>/opt/java/lib/jspawnhelper</file><mode>755</mode></permission>
              <permission><file>/opt/java/lib/**/*.so</file><mode>755</mode></permission>
              <permission><file>/lib*/ld-linux*</file><mode>755</mode></permission>
              <permission><file>/usr/lib/**/*.so*</file><mode>755</mode></permission>
            </permissions>
          </extraDirectories>
          <container>
            $entry
            <mainClass>$main_class</mainClass>
            <appRoot>/usr/share/jib</appRoot>
            <user>$APP_UID:$APP_UID</user>
            <workingDirectory>/home/nonroot</workingDirectory>
            <ports>$port_lines</ports>
            <volumes>$vol</volumes>
            <environment>
              <JAVA_HOME>/opt/java</JAVA_HOME>
              <HOME>/home/nonroot</HOME>
              $env_lines
            </environment>
            <labels>
              <org.opencontainers.image.title>$img</org.opencontainers.image.title>
              <org.opencontainers.image.version>$IMAGE_TAG</org.opencontainers.image.version>
              <org.opencontainers.image.source>https://github.com/edgegate/edgegate</org.opencontainers.image.source>
              <io.edgegate.aot-cache>$([ "$with_aot" = 1 ] && echo "/app/$img.aot" || echo none)</io.edgegate.aot-cache>
            </labels>
            <creationTime>EPOCH</creationTime>
            <filesModificationTime>EPOCH_PLUS_SECOND</filesModificationTime>
            <!-- Docker's archive format: it carries every tag (an OCI layout tarball from Jib
                 names one), and docker, podman, k3s ctr and the k3s agent's image directory load
                 it with its names -->
            <format>Docker</format>
          </container>
        </configuration>
      </plugin>
    </plugins>
  </build>
</project>
EOF
}

image() {
  local img=$1 arch=$2 with_aot=$3 dir="$TARGET/jib-$1-$2"
  rm -rf "$dir" && mkdir -p "$dir/target/classes"
  jib_pom "$img" "$arch" "$with_aot" "$dir"
  log "image $img $arch: jib buildTar"
  (cd "$dir" && mvn -B -q -o "$JIB:buildTar" -Djib.console=plain >"$dir/jib.log" 2>&1) \
    || (cd "$dir" && mvn -B -q "$JIB:buildTar" -Djib.console=plain >"$dir/jib.log" 2>&1) \
    || { cat "$dir/jib.log" >&2; die "jib failed for $img $arch"; }
  log "image $img $arch: $TARGET/$img-$arch.tar $(du -h "$TARGET/$img-$arch.tar" | cut -f1)"
}

# --- main ------------------------------------------------------------------------------------
main() {
  mkdir -p "$TARGET" "$CACHE"
  if [ "$BUILD_JARS" = 1 ]; then
    local mods=() img
    for img in "${IMAGES[@]}"; do [ -f "$ROOT/$img/pom.xml" ] && mods+=("$img"); done
    log "building jars: ${mods[*]}"
    (cd "$ROOT" && mvn -B -q -o -pl "$(IFS=,; echo "${mods[*]}")" -am -DskipTests package 2>&1 \
      | { grep -v -E '^WARNING: (A terminally deprecated|sun\.misc\.Unsafe|Please consider reporting)' || true; }
      exit "${PIPESTATUS[0]}")
  fi
  local present=() img
  for img in "${IMAGES[@]}"; do
    if have_app "$img"; then present+=("$img")
    else log "skipping $img: no $(app_dir "$img")/$img.jar (build it: mvn -B -DskipTests package)"; fi
  done
  [ ${#present[@]} -gt 0 ] || die "no application jar to put in an image"
  IMAGES=("${present[@]}")
  local arch t0=$SECONDS
  for arch in "${ARCHES[@]}"; do
    sysroot "$arch"
    runtime "$arch"
    base "$arch"
  done
  for img in "${IMAGES[@]}"; do
    stage_app "$img"
    for arch in "${ARCHES[@]}"; do
      local with_aot=0
      if [ "$AOT" = 1 ] && aot "$img" "$arch"; then with_aot=1; fi
      image "$img" "$arch" "$with_aot"
    done
  done
  log "done in $((SECONDS - t0)) s:"
  ls -l "$TARGET"/*.tar >&2
}

[ "${BUILD_SH_LIBRARY:-0}" = 1 ] || main
