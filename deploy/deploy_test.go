package deploy

import (
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"gopkg.in/yaml.v3"

	"github.com/evercast/evercast/internal/config"
)

// The files under test, relative to the repository root.
const (
	composeFile      = "docker-compose.yml"
	dockerfileFile   = "Dockerfile"
	dockerignoreFile = ".dockerignore"
	k8sDir           = "deploy/k8s"
	readmeFile       = "deploy/README.md"
)

// TestDeployment checks the Dockerfile, docker-compose.yml and the
// Kubernetes manifests as they are in the repository.
func TestDeployment(t *testing.T) {
	repo := os.DirFS("..")
	for _, area := range []struct {
		name  string
		check func(fs.FS) []string
	}{
		{"dockerfile", checkDockerfile},
		{"compose", checkCompose},
		{"kubernetes", checkKubernetes},
		{"readme", checkReadme},
	} {
		t.Run(area.name, func(t *testing.T) {
			problems := area.check(repo)
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
}

// TestChecksCatchMistakes breaks the real files one mistake at a time and
// expects the checks to name it, so that a check that can never fail does
// not pass for one that works.
func TestChecksCatchMistakes(t *testing.T) {
	tests := []struct {
		name       string
		file       string
		old, new   string
		nth        int // which occurrence of old to replace, from 1; 0 = the first
		wantInFile string
		want       string // a substring of one reported problem
	}{
		// Dockerfile and .dockerignore.
		{name: "root user", file: dockerfileFile, old: "USER 10001:10001", new: "USER root", want: "USER"},
		{name: "no user", file: dockerfileFile, old: "USER 10001:10001", new: "", want: "no USER"},
		{name: "font missing", file: dockerfileFile, old: "      fonts-wqy-microhei \\\n", new: "", want: "fonts-wqy-microhei"},
		{name: "espeak missing", file: dockerfileFile, old: "      espeak-ng \\\n", new: "", want: "espeak-ng"},
		{name: "recommends", file: dockerfileFile, old: "--no-install-recommends", new: "", want: "--no-install-recommends"},
		{name: "wrong main package", file: dockerfileFile, old: "./cmd/evercast", new: "./cmd/other", want: "./cmd/evercast"},
		{name: "cgo", file: dockerfileFile, old: "CGO_ENABLED=0 ", new: "", want: "CGO_ENABLED=0"},
		{name: "unknown env in image", file: dockerfileFile, old: "EVERCAST_FONT=", new: "EVERCAST_FONTS=", want: "EVERCAST_FONTS"},
		{name: "loopback in image", file: dockerfileFile, old: "EVERCAST_HTTP_ADDR=0.0.0.0:8080", new: "EVERCAST_HTTP_ADDR=127.0.0.1:8080", want: "loopback"},
		{name: "expose other port", file: dockerfileFile, old: "EXPOSE 8080", new: "EXPOSE 9090", want: "EXPOSE"},
		{name: "healthcheck path", file: dockerfileFile, old: "/healthz\"", new: "/health\"", want: "HEALTHCHECK"},
		{name: "entrypoint", file: dockerfileFile, old: `ENTRYPOINT ["evercast"]`, new: `ENTRYPOINT ["/bin/sh"]`, want: "ENTRYPOINT"},
		{name: "binary not copied", file: dockerfileFile, old: "COPY --from=build", new: "COPY --from=golang:1.26", want: "COPY --from"},
		{name: "dockerignore .git", file: dockerignoreFile, old: "\n.git\n", new: "\n", want: ".git"},

		// docker-compose.yml.
		{name: "compose unknown env", file: composeFile, old: "EVERCAST_S3_BUCKET: evercast", new: "EVERCAST_S3_BUKET: evercast", want: "environment.EVERCAST_S3_BUKET"},
		{name: "compose invalid value", file: composeFile, old: "EVERCAST_S3_BUCKET: evercast", new: "EVERCAST_S3_BUCKET: Evercast_Clips", want: "EVERCAST_S3_BUCKET: want a lower-case bucket"},
		{name: "compose unknown role", file: composeFile, old: `"--roles", "worker"]`, new: `"--roles", "workers"]`, want: `"workers"`},
		{name: "compose all roles", file: composeFile, old: `["serve", "--roles", "playout"]`, new: `["serve"]`, want: "services.playout.command"},
		{name: "compose role missing", file: composeFile, old: `"--roles", "playout"]`, new: `"--roles", "worker"]`, want: "no service runs the playout role"},
		{name: "compose api healthcheck", file: composeFile, old: `test: ["CMD", "curl", "-fsS", "http://127.0.0.1:8080/healthz"]`, new: "disable: true", want: "services.api.healthcheck"},
		{name: "compose api healthcheck port", file: composeFile, old: "http://127.0.0.1:8080/healthz", new: "http://127.0.0.1:9000/healthz", want: "port 8080"},
		{name: "compose worker inherits healthcheck", file: composeFile, old: "    healthcheck:\n      disable: true\n", new: "", want: "services.worker.healthcheck"},
		{name: "compose loopback", file: composeFile, old: "EVERCAST_HTTP_ADDR: 0.0.0.0:8080", new: "EVERCAST_HTTP_ADDR: 127.0.0.1:8080", want: "loopback"},
		{name: "compose worker replicas", file: composeFile, old: "replicas: 2", new: "replicas: 1", want: "services.worker.deploy.replicas"},
		{name: "compose started not healthy", file: composeFile, old: "condition: service_healthy", new: "condition: service_started", want: "service_healthy"},
		{name: "compose dependency without healthcheck", file: composeFile, old: `test: ["CMD", "redis-cli", "ping"]`, new: "disable: true", want: "services.redis.healthcheck"},
		{name: "compose missing dependency", file: composeFile, old: "    redis:\n      condition: service_healthy\n", new: "", want: "depends_on.redis"},
		{name: "compose hls not shared", file: composeFile, old: "- hls:/var/lib/evercast/hls", new: "- hls:/var/lib/evercast/preview", want: "/var/lib/evercast/hls"},
		{name: "compose undeclared volume", file: composeFile, old: "  hls:\n  redis-data:", new: "  redis-data:", want: "volumes.hls"},

		// Kubernetes.
		{name: "k8s unknown role", file: k8sDir + "/worker.yaml", old: `"--roles", "worker"]`, new: `"--roles", "workers"]`, want: `"workers"`},
		{name: "k8s configmap unknown key", file: k8sDir + "/configmap.yaml", old: "EVERCAST_CLOCK: real", new: "EVERCAST_CLOCKS: real", want: "data.EVERCAST_CLOCKS"},
		{name: "k8s configmap invalid value", file: k8sDir + "/configmap.yaml", old: `EVERCAST_HLS_WINDOW: "8"`, new: `EVERCAST_HLS_WINDOW: "1"`, want: "EVERCAST_HLS_WINDOW: must be between"},
		{name: "k8s secret unknown key", file: k8sDir + "/secret.yaml", old: "EVERCAST_S3_SECRET_KEY:", new: "S3_SECRET_KEY:", want: "stringData.S3_SECRET_KEY"},
		{name: "k8s secret with a usable token", file: k8sDir + "/secret.yaml", old: "EVERCAST_ADMIN_TOKEN: CHANGE_ME", new: "EVERCAST_ADMIN_TOKEN: CHANGE_ME_0123456789", want: "stringData.EVERCAST_ADMIN_TOKEN"},
		{name: "k8s container env unknown", file: k8sDir + "/worker.yaml", old: "name: EVERCAST_WORKER_CONCURRENCY", new: "name: EVERCAST_CONCURRENCY", want: "env.EVERCAST_CONCURRENCY"},
		{name: "k8s envFrom dangling", file: k8sDir + "/playout.yaml", old: "name: evercast-config", new: "name: evercast-cfg", want: "evercast-cfg"},
		{name: "k8s no readiness", file: k8sDir + "/api.yaml", old: "readinessProbe:", new: "readinessProbeOff:", want: "readinessProbe"},
		{name: "k8s liveness path", file: k8sDir + "/api.yaml", old: "path: /healthz", nth: 3, new: "path: /", want: "livenessProbe"},
		{name: "k8s probe port", file: k8sDir + "/api.yaml", old: "containerPort: 8080", new: "containerPort: 9090", want: "8080"},
		{name: "k8s worker replicas", file: k8sDir + "/worker.yaml", old: "replicas: 3", new: "replicas: 1", want: "evercast-worker: spec.replicas"},
		{name: "k8s hpa target", file: k8sDir + "/worker.yaml", old: "    name: evercast-worker\n  minReplicas", new: "    name: evercast-workers\n  minReplicas", want: "HorizontalPodAutoscaler"},
		{name: "k8s worker cpu request", file: k8sDir + "/worker.yaml", old: "            requests:\n              cpu: \"1\"\n", new: "            requests:\n", want: "resources.requests.cpu"},
		{name: "k8s playout strategy", file: k8sDir + "/playout.yaml", old: "type: Recreate", new: "type: RollingUpdate", want: "Recreate"},
		{name: "k8s playout replicas", file: k8sDir + "/playout.yaml", old: "replicas: 1", new: "replicas: 2", want: "spec.replicas"},
		{name: "k8s root", file: k8sDir + "/worker.yaml", old: "runAsNonRoot: true", new: "runAsNonRoot: false", want: "runAsNonRoot"},
		{name: "k8s uid 0", file: k8sDir + "/api.yaml", old: "runAsUser: 10001", new: "runAsUser: 0", want: "runAsUser"},
		{name: "k8s writable root", file: k8sDir + "/playout.yaml", old: "readOnlyRootFilesystem: true", new: "readOnlyRootFilesystem: false", want: "readOnlyRootFilesystem"},
		{name: "k8s escalation", file: k8sDir + "/api.yaml", old: "allowPrivilegeEscalation: false", new: "allowPrivilegeEscalation: true", want: "allowPrivilegeEscalation"},
		{name: "k8s capabilities", file: k8sDir + "/worker.yaml", old: `drop: ["ALL"]`, new: `drop: ["NET_RAW"]`, want: "capabilities.drop"},
		{name: "k8s no tmp", file: k8sDir + "/worker.yaml", old: "mountPath: /tmp", new: "mountPath: /scratch", want: "/tmp"},
		{name: "k8s no limits", file: k8sDir + "/playout.yaml", old: "            limits:\n              cpu: \"2\"\n              memory: 1Gi\n", new: "", want: "resources.limits"},
		{name: "k8s hls not shared", file: k8sDir + "/playout.yaml", old: "claimName: evercast-hls", new: "claimName: evercast-hls-2", want: "evercast-hls-2"},
		{name: "k8s hls mount path", file: k8sDir + "/api.yaml", old: "mountPath: /var/lib/evercast/hls", new: "mountPath: /srv/hls", want: "/var/lib/evercast/hls"},
		{name: "k8s pvc access", file: k8sDir + "/hls-pvc.yaml", old: "    - ReadWriteMany", new: "    - ReadWriteOnce", want: "ReadWriteMany"},
		{name: "kustomization missing file", file: k8sDir + "/kustomization.yaml", old: "  - playout.yaml", new: "  - playout-v2.yaml", want: "playout-v2.yaml"},
		{name: "kustomization orphan", file: k8sDir + "/kustomization.yaml", old: "  - playout.yaml\n", new: "", want: "playout.yaml: not listed"},
		{name: "readme setting", file: readmeFile, old: "| `EVERCAST_HLS_WINDOW` |", new: "| `HLS_WINDOW` |", want: "EVERCAST_HLS_WINDOW"},
		{name: "kustomization image", file: k8sDir + "/kustomization.yaml", old: "  - name: evercast\n", new: "  - name: evercast-server\n", want: "images"},
	}
	repo := os.DirFS("..")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			broken, err := replaced(repo, tt.file, tt.old, tt.new, tt.nth)
			if err != nil {
				t.Fatal(err)
			}
			var all []string
			for _, check := range []func(fs.FS) []string{checkDockerfile, checkCompose, checkKubernetes, checkReadme} {
				all = append(all, check(broken)...)
			}
			for _, p := range all {
				if strings.Contains(p, tt.want) {
					t.Logf("caught: %s", p)
					return
				}
			}
			t.Errorf("after replacing %q with %q in %s, no problem mentions %q; problems:\n%s",
				tt.old, tt.new, tt.file, tt.want, strings.Join(all, "\n"))
		})
	}
}

// replaced returns a copy of the files the checks read, with the nth
// occurrence of old replaced by new in file.
func replaced(repo fs.FS, file, old, new string, nth int) (fs.FS, error) {
	out := fstest.MapFS{}
	copyFile := func(name string) error {
		b, err := fs.ReadFile(repo, name)
		if err != nil {
			return err
		}
		out[name] = &fstest.MapFile{Data: b}
		return nil
	}
	for _, name := range []string{composeFile, dockerfileFile, dockerignoreFile, readmeFile} {
		if err := copyFile(name); err != nil {
			return nil, err
		}
	}
	err := fs.WalkDir(repo, k8sDir, func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return copyFile(name)
	})
	if err != nil {
		return nil, err
	}
	f := out[file]
	if f == nil {
		return nil, fmt.Errorf("%s: no such file", file)
	}
	if nth == 0 {
		nth = 1
	}
	text := string(f.Data)
	at := -1
	for i, from := 0, 0; i < nth; i++ {
		j := strings.Index(text[from:], old)
		if j < 0 {
			return nil, fmt.Errorf("%s: occurrence %d of %q not found: the test case no longer matches the file", file, nth, old)
		}
		at, from = from+j, from+j+len(old)
	}
	f.Data = []byte(text[:at] + new + text[at+len(old):])
	return out, nil
}

// ---- shared -------------------------------------------------------------------

// report collects problems, each naming the file and the key at fault.
type report []string

func (r *report) add(file, key, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if key == "" {
		*r = append(*r, fmt.Sprintf("%s: %s", file, msg))
		return
	}
	*r = append(*r, fmt.Sprintf("%s: %s: %s", file, key, msg))
}

func knownEnv() map[string]bool {
	m := map[string]bool{}
	for _, n := range config.EnvNames() {
		m[n] = true
	}
	return m
}

// checkEnvName reports an EVERCAST_* name that Evercast does not read.
func checkEnvName(r *report, known map[string]bool, file, key, name string) {
	if strings.HasPrefix(name, "EVERCAST_") && !known[name] {
		r.add(file, key, "%s is not a setting Evercast reads (config.EnvNames: %s)", name, strings.Join(config.EnvNames(), ", "))
	}
}

// rolesIn finds the --roles value in a command line.
func rolesIn(argv []string) (roles []string, ok bool) {
	for i, a := range argv {
		var v string
		switch {
		case a == "--roles" || a == "-roles":
			if i+1 >= len(argv) {
				return nil, false
			}
			v = argv[i+1]
		case strings.HasPrefix(a, "--roles="), strings.HasPrefix(a, "-roles="):
			v = a[strings.Index(a, "=")+1:]
		default:
			continue
		}
		for _, r := range strings.Split(v, ",") {
			if r = strings.TrimSpace(r); r != "" {
				roles = append(roles, r)
			}
		}
		return roles, true
	}
	return nil, false
}

// checkRoles reports roles that do not exist and a command that names none
// (which would run every role, playout included, in that process).
func checkRoles(r *report, file, key string, argv []string) []string {
	roles, ok := rolesIn(argv)
	if !ok {
		r.add(file, key, "%q runs every role; name this process's roles with --roles (one of %s)", argv, strings.Join(config.AllRoles(), ", "))
		return nil
	}
	for _, role := range roles {
		if !slices.Contains(config.AllRoles(), role) {
			r.add(file, key, "--roles names %q, which is not one of %s", role, strings.Join(config.AllRoles(), ", "))
		}
	}
	return roles
}

// checkAllRolesRun reports a role that no process runs.
func checkAllRolesRun(r *report, file string, seen map[string]bool) {
	for _, role := range config.AllRoles() {
		if !seen[role] {
			r.add(file, "", "no service runs the %s role", role)
		}
	}
}

// validate applies the environment and the flags after `serve` exactly as
// `evercast serve` does, and returns config.Validate's verdict (each error
// names its EVERCAST_* setting).
func validate(argv []string, lookup func(string) (string, bool)) (config.Config, error) {
	cfg := config.Defaults()
	fs := flag.NewFlagSet("evercast serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := cfg.Bind(fs, lookup); err != nil {
		return cfg, err
	}
	i := slices.Index(argv, "serve")
	if i < 0 {
		return cfg, fmt.Errorf("%q does not run `evercast serve`", argv)
	}
	if err := fs.Parse(argv[i+1:]); err != nil {
		return cfg, fmt.Errorf("flags %q: %w", argv[i+1:], err)
	}
	return cfg, cfg.Validate()
}

// errorLines splits a joined error into its lines.
func errorLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

// httpPort returns the port of EVERCAST_HTTP_ADDR and reports one that only
// loopback could reach.
func httpPort(r *report, file, key, addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		r.add(file, key, "EVERCAST_HTTP_ADDR %s listens on loopback only: nothing outside the container can reach it (use 0.0.0.0:%s)", addr, port)
	}
	return port
}

// isEvercastImage reports whether an image reference is Evercast's image.
func isEvercastImage(ref string) bool {
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return path.Base(ref) == "evercast"
}

// checkReadme checks that the operations guide explains every setting.
func checkReadme(fsys fs.FS) []string {
	var r report
	b, err := fs.ReadFile(fsys, readmeFile)
	if err != nil {
		r.add(readmeFile, "", "%v", err)
		return r
	}
	for _, name := range config.EnvNames() {
		if !bytes.Contains(b, []byte("`"+name+"`")) {
			r.add(readmeFile, "Settings", "%s is a setting (config.EnvNames) that the settings table does not explain", name)
		}
	}
	return r
}

// ---- Dockerfile ---------------------------------------------------------------

type instruction struct {
	line int
	cmd  string // upper case
	args string
}

type stage struct {
	from, name string
	ins        []instruction
}

// parseDockerfile splits a Dockerfile into stages of instructions, joining
// continuation lines.
func parseDockerfile(text string) []stage {
	var stages []stage
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		start := i
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			line = strings.TrimSuffix(line, "\\")
			i++
			next := strings.TrimSpace(lines[i])
			if strings.HasPrefix(next, "#") {
				next = "\\" // a comment inside a continuation is dropped
			}
			line += " " + next
		}
		line = strings.TrimSuffix(line, "\\")
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{line: start + 1, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			var s stage
			for j := 0; j < len(f); j++ {
				switch {
				case strings.HasPrefix(f[j], "--"):
				case strings.EqualFold(f[j], "AS") && j+1 < len(f):
					s.name = f[j+1]
					j++
				case s.from == "":
					s.from = f[j]
				}
			}
			stages = append(stages, s)
		}
		if len(stages) > 0 {
			stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
		}
	}
	return stages
}

// shellWords splits on blanks outside double or single quotes and drops
// the quotes.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	var quote rune
	in := false
	for _, c := range s {
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\''):
			quote, in = c, true
		case quote == 0 && (c == ' ' || c == '\t'):
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

// envOf returns the variables an ENV instruction sets.
func envOf(args string) map[string]string {
	out := map[string]string{}
	w := shellWords(args)
	if len(w) > 0 && !strings.Contains(w[0], "=") { // legacy ENV KEY value
		out[w[0]] = strings.Join(w[1:], " ")
		return out
	}
	for _, kv := range w {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

// imageEnv returns the environment the final image sets.
func imageEnv(fsys fs.FS) map[string]string {
	b, err := fs.ReadFile(fsys, dockerfileFile)
	if err != nil {
		return nil
	}
	stages := parseDockerfile(string(b))
	if len(stages) == 0 {
		return nil
	}
	env := map[string]string{}
	for _, in := range stages[len(stages)-1].ins {
		if in.cmd == "ENV" {
			for k, v := range envOf(in.args) {
				env[k] = v
			}
		}
	}
	return env
}

func checkDockerfile(fsys fs.FS) []string {
	var r report
	const file = dockerfileFile
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		r.add(file, "", "%v", err)
		return r
	}
	stages := parseDockerfile(string(b))
	if len(stages) < 2 {
		r.add(file, "FROM", "want a multi-stage build (a Go builder, then a slim runtime), found %d stage(s)", len(stages))
		return r
	}
	final := stages[len(stages)-1]
	at := func(in instruction) string { return fmt.Sprintf("line %d %s", in.line, in.cmd) }

	// The builder builds ./cmd/evercast, statically.
	built := false
	var builder stage
	for _, s := range stages[:len(stages)-1] {
		for _, in := range s.ins {
			if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
				if !slices.Contains(strings.Fields(in.args), "./cmd/evercast") {
					r.add(file, at(in), "go build must build ./cmd/evercast: %s", in.args)
					continue
				}
				if !strings.Contains(in.args, "CGO_ENABLED=0") {
					r.add(file, at(in), "build with CGO_ENABLED=0 so that the binary runs on the slim runtime image")
				}
				built, builder = true, s
			}
		}
	}
	if !built {
		r.add(file, "RUN", "no build stage runs `go build ... ./cmd/evercast`")
	}
	if strings.HasPrefix(final.from, "golang") {
		r.add(file, "FROM "+final.from, "the final stage must not be the Go toolchain image")
	}

	// The final stage: tools, binary, user, port, health check, entrypoint.
	var (
		installed  = map[string]bool{}
		copied     bool
		user       *instruction
		exposed    []string
		health     *instruction
		entrypoint *instruction
		chowned    bool
	)
	env := map[string]string{}
	for i, in := range final.ins {
		switch in.cmd {
		case "RUN":
			if strings.Contains(in.args, "apt-get install") {
				if !strings.Contains(in.args, "--no-install-recommends") {
					r.add(file, at(in), "apt-get install without --no-install-recommends pulls in hundreds of MB the runtime does not need")
				}
				for _, w := range strings.Fields(in.args) {
					installed[w] = true
				}
			}
			if strings.Contains(in.args, "chown") {
				chowned = true
			}
		case "COPY":
			f := strings.Fields(in.args)
			if len(f) > 0 && (f[0] == "--from="+builder.name || (builder.name == "" && strings.HasPrefix(f[0], "--from="))) && strings.Contains(in.args, "evercast") {
				copied = true
			}
		case "USER":
			user = &final.ins[i]
		case "EXPOSE":
			exposed = append(exposed, strings.Fields(in.args)...)
		case "HEALTHCHECK":
			health = &final.ins[i]
		case "ENTRYPOINT":
			entrypoint = &final.ins[i]
		case "ENV":
			for k, v := range envOf(in.args) {
				env[k] = v
				checkEnvName(&r, knownEnv(), file, at(in), k)
			}
		}
	}
	for _, pkg := range []string{"ffmpeg", "espeak-ng", "fonts-wqy-microhei", "ca-certificates", "curl"} {
		if !installed[pkg] {
			r.add(file, "RUN apt-get install", "the final stage does not install %s (workers and playout need ffmpeg, ffprobe, espeak-ng and the CJK font; the health check needs curl; TLS needs ca-certificates)", pkg)
		}
	}
	if !copied {
		r.add(file, "COPY --from", "the final stage does not copy the evercast binary from the build stage %q", builder.name)
	}
	if user == nil {
		r.add(file, "USER", "no USER in the final stage: the container would run as root")
	} else {
		u, _, _ := strings.Cut(user.args, ":")
		if n, err := strconv.Atoi(u); err != nil || n == 0 {
			r.add(file, at(*user), "USER %q: want a numeric non-zero uid, so that Kubernetes' runAsNonRoot can verify it", user.args)
		}
	}
	if !chowned {
		r.add(file, "RUN chown", "the final stage never gives the data directory to the runtime user")
	}
	dataDir := env["EVERCAST_DATA_DIR"]
	if dataDir == "" {
		r.add(file, "ENV EVERCAST_DATA_DIR", "not set: the default is relative to the working directory")
	}
	port := ""
	if addr, ok := env["EVERCAST_HTTP_ADDR"]; !ok {
		r.add(file, "ENV EVERCAST_HTTP_ADDR", "not set: the default 127.0.0.1:8080 is unreachable from outside the container")
	} else {
		port = httpPort(&r, file, "ENV EVERCAST_HTTP_ADDR", addr)
	}
	if port != "" && !slices.ContainsFunc(exposed, func(e string) bool { return strings.TrimSuffix(e, "/tcp") == port }) {
		r.add(file, "EXPOSE", "exposes %v but EVERCAST_HTTP_ADDR listens on port %s", exposed, port)
	}
	if health == nil || !strings.Contains(health.args, "/healthz") {
		r.add(file, "HEALTHCHECK", "want a HEALTHCHECK on GET /healthz")
	}
	if entrypoint == nil || !strings.Contains(entrypoint.args, "evercast") {
		r.add(file, "ENTRYPOINT", "want ENTRYPOINT [\"evercast\"] so that the command is the evercast subcommand")
	}

	ig, err := fs.ReadFile(fsys, dockerignoreFile)
	if err != nil {
		r.add(dockerignoreFile, "", "%v", err)
	} else {
		lines := map[string]bool{}
		for _, l := range strings.Split(string(ig), "\n") {
			lines[strings.Trim(strings.TrimSpace(l), "/")] = true
		}
		for _, want := range []string{".git", "bin", "node_modules"} {
			if !lines[want] {
				r.add(dockerignoreFile, want, "not excluded from the build context")
			}
		}
	}
	return r
}

// ---- docker-compose.yml -------------------------------------------------------

// stringList is a compose string-or-list (command, healthcheck test, tmpfs).
type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*l = shellWords(n.Value)
		return nil
	case yaml.SequenceNode:
		var s []string
		if err := n.Decode(&s); err != nil {
			return err
		}
		*l = s
		return nil
	}
	return fmt.Errorf("line %d: want a string or a list of strings", n.Line)
}

// envMap is a compose environment: a mapping or a list of KEY=value.
type envMap map[string]string

func (m *envMap) UnmarshalYAML(n *yaml.Node) error {
	*m = envMap{}
	switch n.Kind {
	case yaml.MappingNode:
		var raw map[string]any
		if err := n.Decode(&raw); err != nil {
			return err
		}
		for k, v := range raw {
			if v == nil {
				(*m)[k] = ""
			} else {
				(*m)[k] = fmt.Sprint(v)
			}
		}
		return nil
	case yaml.SequenceNode:
		var raw []string
		if err := n.Decode(&raw); err != nil {
			return err
		}
		for _, kv := range raw {
			k, v, _ := strings.Cut(kv, "=")
			(*m)[k] = v
		}
		return nil
	}
	return fmt.Errorf("line %d: want a mapping or a list of KEY=value", n.Line)
}

// dependsOn is a compose depends_on: a list of names or a mapping with
// conditions.
type dependsOn map[string]string

func (d *dependsOn) UnmarshalYAML(n *yaml.Node) error {
	*d = dependsOn{}
	switch n.Kind {
	case yaml.SequenceNode:
		var names []string
		if err := n.Decode(&names); err != nil {
			return err
		}
		for _, name := range names {
			(*d)[name] = "service_started"
		}
		return nil
	case yaml.MappingNode:
		var raw map[string]struct {
			Condition string `yaml:"condition"`
		}
		if err := n.Decode(&raw); err != nil {
			return err
		}
		for name, v := range raw {
			if v.Condition == "" {
				v.Condition = "service_started"
			}
			(*d)[name] = v.Condition
		}
		return nil
	}
	return fmt.Errorf("line %d: want a list or a mapping", n.Line)
}

// mount is one entry of a compose service's volumes.
type mount struct{ source, target string }

func (m *mount) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		parts := strings.Split(n.Value, ":")
		switch len(parts) {
		case 1:
			m.target = parts[0]
		default:
			m.source, m.target = parts[0], parts[1]
		}
		return nil
	}
	var long struct {
		Source string `yaml:"source"`
		Target string `yaml:"target"`
	}
	if err := n.Decode(&long); err != nil {
		return err
	}
	m.source, m.target = long.Source, long.Target
	return nil
}

func (m mount) named() bool {
	return m.source != "" && !strings.HasPrefix(m.source, "/") && !strings.HasPrefix(m.source, ".") && !strings.HasPrefix(m.source, "~") && !strings.HasPrefix(m.source, "$")
}

type composeService struct {
	Image       string     `yaml:"image"`
	Build       yaml.Node  `yaml:"build"`
	Command     stringList `yaml:"command"`
	Environment envMap     `yaml:"environment"`
	Healthcheck *struct {
		Test    stringList `yaml:"test"`
		Disable bool       `yaml:"disable"`
	} `yaml:"healthcheck"`
	DependsOn dependsOn `yaml:"depends_on"`
	Deploy    struct {
		Replicas *int `yaml:"replicas"`
	} `yaml:"deploy"`
	Volumes []mount `yaml:"volumes"`
}

// fromRepoDockerfile reports whether a service is built from the
// repository's Dockerfile.
func (s composeService) fromRepoDockerfile() bool {
	switch s.Build.Kind {
	case yaml.ScalarNode:
		return s.Build.Value == "." || s.Build.Value == "./"
	case yaml.MappingNode:
		var b struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		}
		if err := s.Build.Decode(&b); err != nil {
			return false
		}
		return (b.Context == "." || b.Context == "./") && (b.Dockerfile == "" || b.Dockerfile == "Dockerfile")
	}
	return false
}

var interpolation = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// sampleRequired are values the test gives variables compose requires
// (${NAME:?message}), as a user would.
var sampleRequired = map[string]string{"EVERCAST_ADMIN_TOKEN": "evt_deploy_test_token_0123456789"}

// interpolate resolves compose ${...} references with an empty environment:
// defaults apply, and a required variable gets its sample value.
func interpolate(s string) (string, error) {
	var errs []error
	out := interpolation.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		g := interpolation.FindStringSubmatch(m)
		name, op, arg := g[1], g[2], g[3]
		if name == "" { // $NAME
			return ""
		}
		switch op {
		case ":-", "-":
			return arg
		case ":?", "?":
			v, ok := sampleRequired[name]
			if !ok {
				errs = append(errs, fmt.Errorf("requires ${%s} and the test has no sample value for it", name))
			}
			return v
		}
		return ""
	})
	return out, errors.Join(errs...)
}

func checkCompose(fsys fs.FS) []string {
	var r report
	const file = composeFile
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		r.add(file, "", "%v", err)
		return r
	}
	var doc struct {
		Services map[string]composeService `yaml:"services"`
		Volumes  map[string]any            `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		r.add(file, "", "not valid YAML: %v", err)
		return r
	}
	known := knownEnv()
	image := imageEnv(fsys)
	names := sortedKeys(doc.Services)

	seenRoles := map[string]bool{}
	type hlsUse struct {
		service string
		volume  string
	}
	var playoutHLS, apiHLS []hlsUse
	playoutWithAPI := false
	evercast := 0
	for _, name := range names {
		s := doc.Services[name]
		svc := "services." + name
		for k := range s.Environment {
			checkEnvName(&r, known, file, svc+".environment."+k, k)
		}
		for dep, cond := range s.DependsOn {
			key := svc + ".depends_on." + dep
			target, ok := doc.Services[dep]
			switch {
			case !ok:
				r.add(file, key, "no such service")
			case cond != "service_healthy":
				r.add(file, key, "condition %s: want service_healthy, so that %s starts only once %s answers", cond, name, dep)
			case target.Healthcheck == nil || target.Healthcheck.Disable || len(target.Healthcheck.Test) == 0:
				r.add(file, "services."+dep+".healthcheck", "%s waits for %s to be healthy, but %s has no health check", name, dep, dep)
			}
		}
		if !s.fromRepoDockerfile() {
			continue
		}
		evercast++
		roles := checkRoles(&r, file, svc+".command", s.Command)
		for _, role := range roles {
			seenRoles[role] = true
		}

		// The settings as the process sees them: the image's ENV, then the
		// service's environment; then the flags.
		env := map[string]string{}
		for k, v := range image {
			env[k] = v
		}
		for k, v := range s.Environment {
			iv, err := interpolate(v)
			if err != nil {
				r.add(file, svc+".environment."+k, "%v", err)
			}
			env[k] = iv
		}
		cfg, err := validate(s.Command, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		for _, line := range errorLines(err) {
			r.add(file, svc, "evercast would refuse this configuration: %s", line)
		}

		hasAPI := slices.Contains(roles, config.RoleAPI)
		hasPlayout := slices.Contains(roles, config.RolePlayout)
		if hasAPI {
			port := httpPort(&r, file, svc+".environment.EVERCAST_HTTP_ADDR", cfg.HTTPAddr)
			hc := s.Healthcheck
			test := ""
			if hc != nil {
				test = strings.Join(hc.Test, " ")
			}
			switch {
			case hc == nil:
				// The image's HEALTHCHECK applies; checkDockerfile checks it.
			case hc.Disable || !strings.Contains(test, "/healthz"):
				r.add(file, svc+".healthcheck", "the api serves HTTP: check GET /healthz")
			case port != "" && !strings.Contains(test, ":"+port+"/"):
				r.add(file, svc+".healthcheck", "checks %q but EVERCAST_HTTP_ADDR listens on port %s", test, port)
			}
		} else if s.Healthcheck == nil || (!s.Healthcheck.Disable && strings.Contains(strings.Join(s.Healthcheck.Test, " "), "/healthz")) {
			r.add(file, svc+".healthcheck", "roles %v serve no HTTP, so the image's /healthz check would mark it unhealthy forever: set healthcheck: {disable: true}", roles)
		}
		if slices.Contains(roles, config.RoleWorker) && !hasAPI && !hasPlayout {
			if s.Deploy.Replicas == nil || *s.Deploy.Replicas < 2 {
				r.add(file, svc+".deploy.replicas", "the worker service should run at least 2 replicas (workers scale horizontally)")
			}
		}

		// The backing services the settings point at are waited for.
		for _, dep := range backingHosts(cfg) {
			if _, ok := doc.Services[dep]; ok {
				if _, waits := s.DependsOn[dep]; !waits {
					r.add(file, svc+".depends_on."+dep, "the settings use %s but the service does not wait for it", dep)
				}
			}
		}

		// HLS: playout writes under DATA_DIR/hls, the api serves from there.
		hlsDir := path.Join(cfg.DataDir, "hls")
		vol := ""
		for _, m := range s.Volumes {
			if m.named() && (m.target == hlsDir || m.target == cfg.DataDir) {
				vol = m.source
			}
		}
		switch {
		case hasAPI && hasPlayout:
			playoutWithAPI = true
		case hasAPI:
			apiHLS = append(apiHLS, hlsUse{name, vol})
		case hasPlayout:
			playoutHLS = append(playoutHLS, hlsUse{name, vol})
		}
		for _, m := range s.Volumes {
			if m.named() {
				if _, ok := doc.Volumes[m.source]; !ok {
					r.add(file, "volumes."+m.source, "used by %s but not declared under the top-level volumes", name)
				}
			}
		}
	}
	if evercast == 0 {
		r.add(file, "services", "no service is built from the repository's Dockerfile (build: .)")
		return r
	}
	checkAllRolesRun(&r, file, seenRoles)
	if !playoutWithAPI || len(playoutHLS) > 0 {
		for _, p := range playoutHLS {
			if p.volume == "" {
				r.add(file, "services."+p.service+".volumes", "playout writes HLS under %s/hls: mount a named volume there for the api to serve", dataDirOf(image))
				continue
			}
			for _, a := range apiHLS {
				if a.volume != p.volume {
					r.add(file, "services."+a.service+".volumes", "the api serves the HLS playout writes: mount volume %q at %s/hls as services.%s does", p.volume, dataDirOf(image), p.service)
				}
			}
		}
	}
	return r
}

func dataDirOf(env map[string]string) string {
	if d := env["EVERCAST_DATA_DIR"]; d != "" {
		return d
	}
	return config.Defaults().DataDir
}

// backingHosts returns the host names the settings connect to.
func backingHosts(cfg config.Config) []string {
	var hosts []string
	add := func(hostport string) {
		for _, hp := range strings.Split(hostport, ",") {
			if h, _, err := net.SplitHostPort(hp); err == nil {
				hosts = append(hosts, h)
			}
		}
	}
	for _, u := range []string{cfg.DatabaseURL, cfg.RedisURL} {
		if _, rest, ok := strings.Cut(u, "://"); ok {
			if i := strings.LastIndex(rest, "@"); i >= 0 {
				rest = rest[i+1:]
			}
			rest, _, _ = strings.Cut(rest, "/")
			rest, _, _ = strings.Cut(rest, "?")
			add(rest)
		}
	}
	if cfg.S3Endpoint != "" {
		if h, _, err := config.S3Endpoint(cfg.S3Endpoint); err == nil {
			add(h)
		}
	}
	return hosts
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ---- Kubernetes ---------------------------------------------------------------

type object struct {
	file       string
	APIVersion string                `yaml:"apiVersion"`
	Kind       string                `yaml:"kind"`
	Metadata   struct{ Name string } `yaml:"metadata"`
	Data       map[string]string     `yaml:"data"`
	StringData map[string]string     `yaml:"stringData"`
	Spec       yaml.Node             `yaml:"spec"`
}

func (o object) id() string { return o.Kind + " " + o.Metadata.Name }

type deploymentSpec struct {
	Replicas *int `yaml:"replicas"`
	Strategy struct {
		Type string `yaml:"type"`
	} `yaml:"strategy"`
	Template struct {
		Spec podSpec `yaml:"spec"`
	} `yaml:"template"`
}

type podSpec struct {
	SecurityContext securityContext  `yaml:"securityContext"`
	InitContainers  []container      `yaml:"initContainers"`
	Containers      []container      `yaml:"containers"`
	Volumes         []map[string]any `yaml:"volumes"`
}

type securityContext struct {
	RunAsNonRoot             *bool  `yaml:"runAsNonRoot"`
	RunAsUser                *int64 `yaml:"runAsUser"`
	AllowPrivilegeEscalation *bool  `yaml:"allowPrivilegeEscalation"`
	ReadOnlyRootFilesystem   *bool  `yaml:"readOnlyRootFilesystem"`
	Capabilities             struct {
		Drop []string `yaml:"drop"`
	} `yaml:"capabilities"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

type ref struct {
	Name     string `yaml:"name"`
	Optional bool   `yaml:"optional"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Ports   []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env []struct {
		Name      string    `yaml:"name"`
		Value     string    `yaml:"value"`
		ValueFrom yaml.Node `yaml:"valueFrom"`
	} `yaml:"env"`
	EnvFrom []struct {
		ConfigMapRef *ref `yaml:"configMapRef"`
		SecretRef    *ref `yaml:"secretRef"`
	} `yaml:"envFrom"`
	StartupProbe   *probe `yaml:"startupProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext securityContext `yaml:"securityContext"`
	VolumeMounts    []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type hpaSpec struct {
	ScaleTargetRef struct {
		Kind string `yaml:"kind"`
		Name string `yaml:"name"`
	} `yaml:"scaleTargetRef"`
	MinReplicas *int        `yaml:"minReplicas"`
	MaxReplicas int         `yaml:"maxReplicas"`
	Metrics     []hpaMetric `yaml:"metrics"`
}

type hpaMetric struct {
	Type     string `yaml:"type"`
	Resource *struct {
		Name string `yaml:"name"`
	} `yaml:"resource"`
}

type kustomization struct {
	Resources []string `yaml:"resources"`
	Images    []struct {
		Name string `yaml:"name"`
	} `yaml:"images"`
}

// loadK8s reads every manifest and kustomization under k8sDir.
func loadK8s(fsys fs.FS, r *report) (objs []object, kusts map[string]kustomization, files []string) {
	kusts = map[string]kustomization{}
	err := fs.WalkDir(fsys, k8sDir, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || (path.Ext(name) != ".yaml" && path.Ext(name) != ".yml") {
			return nil
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		if base := path.Base(name); base == "kustomization.yaml" || base == "kustomization.yml" {
			var k kustomization
			if err := yaml.Unmarshal(b, &k); err != nil {
				r.add(name, "", "not valid YAML: %v", err)
			}
			kusts[name] = k
			return nil
		}
		files = append(files, name)
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for i := 0; ; i++ {
			var o object
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				r.add(name, fmt.Sprintf("document %d", i+1), "not valid YAML: %v", err)
				break
			}
			if o.Kind == "" {
				continue // an empty document
			}
			if o.Metadata.Name == "" {
				r.add(name, o.Kind, "metadata.name is missing")
			}
			o.file = name
			objs = append(objs, o)
		}
		return nil
	})
	if err != nil {
		r.add(k8sDir, "", "%v", err)
	}
	return objs, kusts, files
}

// workload is one Deployment's Evercast container with what it resolves to.
type workload struct {
	obj   object
	spec  deploymentSpec
	c     container
	key   string // "Deployment x: containers[y]"
	roles []string
	cfg   config.Config
}

func checkKubernetes(fsys fs.FS) []string {
	var r report
	objs, kusts, files := loadK8s(fsys, &r)
	known := knownEnv()

	// The kustomizations list only files that exist, and every manifest is
	// listed by the kustomization of its directory.
	listed := map[string]bool{}
	var imageNames []string
	for _, kf := range sortedKeys(kusts) {
		k := kusts[kf]
		dir := path.Dir(kf)
		for _, res := range k.Resources {
			if strings.Contains(res, "://") {
				continue
			}
			p := path.Join(dir, res)
			if _, err := fs.Stat(fsys, p); err != nil {
				r.add(kf, "resources", "%s does not exist", res)
			}
			listed[p] = true
		}
		for _, img := range k.Images {
			imageNames = append(imageNames, img.Name)
		}
	}
	if len(kusts) == 0 {
		r.add(k8sDir, "kustomization.yaml", "missing")
	}
	for _, f := range files {
		if !listed[f] {
			if _, ok := kusts[path.Join(path.Dir(f), "kustomization.yaml")]; ok {
				r.add(f, "", "not listed in the resources of %s", path.Join(path.Dir(f), "kustomization.yaml"))
			}
		}
	}

	// ConfigMaps and Secrets feed envFrom: every key is an EVERCAST_* setting.
	configMaps, secrets := map[string]map[string]string{}, map[string]map[string]string{}
	for _, o := range objs {
		switch o.Kind {
		case "ConfigMap":
			for k := range o.Data {
				checkDataKey(&r, known, o, "data."+k, k)
			}
			configMaps[o.Metadata.Name] = o.Data
		case "Secret":
			data := map[string]string{}
			for k, v := range o.Data {
				d, err := base64.StdEncoding.DecodeString(v)
				if err != nil {
					r.add(o.file, o.id()+": data."+k, "not base64: %v", err)
				}
				data[k] = string(d)
				checkDataKey(&r, known, o, "data."+k, k)
			}
			for k, v := range o.StringData {
				data[k] = v
				checkDataKey(&r, known, o, "stringData."+k, k)
			}
			// A template in the repository must not hold a token Evercast
			// would accept: an unedited template would run with it.
			if tok := data["EVERCAST_ADMIN_TOKEN"]; len(tok) >= 16 {
				field := "stringData.EVERCAST_ADMIN_TOKEN"
				if _, ok := o.Data["EVERCAST_ADMIN_TOKEN"]; ok {
					field = "data.EVERCAST_ADMIN_TOKEN"
				}
				r.add(o.file, o.id()+": "+field, "a committed admin token must be a placeholder Evercast rejects (shorter than 16 characters), never a usable one")
			}
			secrets[o.Metadata.Name] = data
		}
	}
	image := imageEnv(fsys)

	// The Evercast containers.
	var loads []workload
	pvcs := map[string]object{}
	var hpas []object
	for _, o := range objs {
		switch o.Kind {
		case "PersistentVolumeClaim":
			pvcs[o.Metadata.Name] = o
			continue
		case "HorizontalPodAutoscaler":
			hpas = append(hpas, o)
			continue
		case "Deployment", "StatefulSet", "DaemonSet":
		default:
			continue
		}
		var spec deploymentSpec
		if err := o.Spec.Decode(&spec); err != nil {
			r.add(o.file, o.id(), "spec: %v", err)
			continue
		}
		pod := spec.Template.Spec
		for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
			key := fmt.Sprintf("%s: containers[%s]", o.id(), c.Name)
			checkContainerSecurity(&r, o.file, key, pod, c)
			for _, res := range []string{"cpu", "memory"} {
				if c.Resources.Requests[res] == "" {
					r.add(o.file, key+".resources.requests."+res, "missing: the scheduler (and the HPA) need it")
				}
				if c.Resources.Limits[res] == "" {
					r.add(o.file, key+".resources.limits."+res, "missing: one runaway ffmpeg must not starve the node")
				}
			}
			if !isEvercastImage(c.Image) {
				continue
			}
			if len(imageNames) > 0 && !slices.ContainsFunc(imageNames, func(n string) bool { return c.Image == n || strings.HasPrefix(c.Image, n+":") }) {
				r.add(o.file, key+".image", "%q is not among the kustomization's images (%v), so the registry and tag set there do not apply", c.Image, imageNames)
			}
			argv := slices.Concat(c.Command, c.Args)
			if len(c.Command) == 0 {
				argv = slices.Concat([]string{"evercast"}, c.Args)
			}
			w := workload{obj: o, spec: spec, c: c, key: key}
			w.roles = checkRoles(&r, o.file, key+".args", argv)

			// The environment as the container sees it: the image's ENV,
			// then envFrom in order, then env.
			env := map[string]string{}
			for k, v := range image {
				env[k] = v
			}
			placeholderToken := false
			for _, ef := range c.EnvFrom {
				switch {
				case ef.ConfigMapRef != nil:
					data, ok := configMaps[ef.ConfigMapRef.Name]
					if !ok && !ef.ConfigMapRef.Optional {
						r.add(o.file, key+".envFrom.configMapRef", "no ConfigMap %q among the manifests", ef.ConfigMapRef.Name)
					}
					for k, v := range data {
						env[k] = v
					}
				case ef.SecretRef != nil:
					data, ok := secrets[ef.SecretRef.Name]
					if !ok && !ef.SecretRef.Optional {
						r.add(o.file, key+".envFrom.secretRef", "no Secret %q among the manifests", ef.SecretRef.Name)
					}
					for k, v := range data {
						env[k] = v
					}
					if _, ok := data["EVERCAST_ADMIN_TOKEN"]; ok {
						placeholderToken = true
					}
				}
			}
			for _, e := range c.Env {
				checkEnvName(&r, known, o.file, key+".env."+e.Name, e.Name)
				if e.ValueFrom.Kind != 0 {
					env[e.Name] = "value-from-" + strings.ToLower(e.Name)
				} else {
					env[e.Name] = e.Value
				}
			}
			cfg, err := validate(argv, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			for _, line := range errorLines(err) {
				if placeholderToken && strings.HasPrefix(line, "EVERCAST_ADMIN_TOKEN:") {
					continue // the Secret template's placeholder, rejected on purpose
				}
				r.add(o.file, key, "evercast would refuse this configuration: %s", line)
			}
			w.cfg = cfg
			loads = append(loads, w)
		}
	}
	if len(loads) == 0 {
		r.add(k8sDir, "", "no Deployment runs the evercast image")
		return r
	}

	seen := map[string]bool{}
	for _, w := range loads {
		for _, role := range w.roles {
			seen[role] = true
		}
		checkWorkload(&r, w, hpas)
	}
	checkAllRolesRun(&r, k8sDir, seen)
	checkHLSVolume(&r, loads, pvcs)
	return r
}

func checkDataKey(r *report, known map[string]bool, o object, key, name string) {
	if !strings.HasPrefix(name, "EVERCAST_") {
		r.add(o.file, o.id()+": "+key, "%s is not an EVERCAST_* setting; every key here becomes an environment variable of the Evercast containers", name)
		return
	}
	checkEnvName(r, known, o.file, o.id()+": "+key, name)
}

func checkContainerSecurity(r *report, file, key string, pod podSpec, c container) {
	nonRoot := pod.SecurityContext.RunAsNonRoot
	if c.SecurityContext.RunAsNonRoot != nil {
		nonRoot = c.SecurityContext.RunAsNonRoot
	}
	if nonRoot == nil || !*nonRoot {
		r.add(file, key+".securityContext.runAsNonRoot", "want true (in the container's or the pod's securityContext)")
	}
	for _, u := range []*int64{pod.SecurityContext.RunAsUser, c.SecurityContext.RunAsUser} {
		if u != nil && *u == 0 {
			r.add(file, key+".securityContext.runAsUser", "0 is root")
		}
	}
	sc := c.SecurityContext
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		r.add(file, key+".securityContext.allowPrivilegeEscalation", "want false")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		r.add(file, key+".securityContext.readOnlyRootFilesystem", "want true (with an emptyDir on /tmp)")
	} else {
		tmp := ""
		for _, m := range c.VolumeMounts {
			if m.MountPath == "/tmp" {
				tmp = m.Name
			}
		}
		ok := false
		for _, v := range pod.Volumes {
			if v["name"] == tmp {
				_, ok = v["emptyDir"]
			}
		}
		if !ok {
			r.add(file, key+".volumeMounts", "the root filesystem is read-only: mount an emptyDir on /tmp (renders and ffmpeg write there)")
		}
	}
	if !slices.Contains(sc.Capabilities.Drop, "ALL") {
		r.add(file, key+".securityContext.capabilities.drop", "want [ALL]; Evercast needs no capability")
	}
}

func checkWorkload(r *report, w workload, hpas []object) {
	file, key, c := w.obj.file, w.key, w.c
	hasAPI := slices.Contains(w.roles, config.RoleAPI)
	port := httpPort(r, file, key+".env.EVERCAST_HTTP_ADDR", w.cfg.HTTPAddr)
	if hasAPI {
		probes := []struct {
			name string
			p    *probe
		}{{"readinessProbe", c.ReadinessProbe}, {"livenessProbe", c.LivenessProbe}}
		for _, pr := range probes {
			switch {
			case pr.p == nil || pr.p.HTTPGet == nil:
				r.add(file, key+"."+pr.name, "missing: the api serves HTTP; probe GET /healthz")
			case pr.p.HTTPGet.Path != "/healthz":
				r.add(file, key+"."+pr.name+".httpGet.path", "%q: want /healthz", pr.p.HTTPGet.Path)
			default:
				cp := pr.p.HTTPGet.Port
				for _, p := range c.Ports {
					if p.Name == cp {
						cp = strconv.Itoa(p.ContainerPort)
					}
				}
				if port != "" && cp != port {
					r.add(file, key+"."+pr.name+".httpGet.port", "probes port %s but EVERCAST_HTTP_ADDR listens on %s", cp, port)
				}
			}
		}
	} else {
		for _, p := range []*probe{c.StartupProbe, c.ReadinessProbe, c.LivenessProbe} {
			if p != nil && p.HTTPGet != nil {
				r.add(file, key, "roles %v serve no HTTP, yet the container has an httpGet probe that can only fail", w.roles)
			}
		}
	}

	only := func(role string) bool { return len(w.roles) == 1 && w.roles[0] == role }
	name := w.obj.Metadata.Name
	switch {
	case only(config.RoleWorker):
		if w.obj.Kind != "Deployment" {
			r.add(file, w.obj.id(), "the worker should be a Deployment (stateless, scaled horizontally)")
		}
		if w.spec.Replicas == nil || *w.spec.Replicas < 2 {
			r.add(file, w.obj.id()+": spec.replicas", "the worker should run at least 2 replicas")
		}
		var hpa *object
		for i, h := range hpas {
			var s hpaSpec
			if err := h.Spec.Decode(&s); err != nil {
				r.add(h.file, h.id(), "spec: %v", err)
				continue
			}
			if s.ScaleTargetRef.Kind != w.obj.Kind || s.ScaleTargetRef.Name != name {
				continue
			}
			hpa = &hpas[i]
			if s.MinReplicas == nil || *s.MinReplicas < 2 {
				r.add(h.file, h.id()+": spec.minReplicas", "want at least 2")
			}
			if s.MaxReplicas < 2 || (s.MinReplicas != nil && s.MaxReplicas < *s.MinReplicas) {
				r.add(h.file, h.id()+": spec.maxReplicas", "%d is below minReplicas", s.MaxReplicas)
			}
			if !slices.ContainsFunc(s.Metrics, func(m hpaMetric) bool {
				return m.Type == "Resource" && m.Resource != nil && m.Resource.Name == "cpu"
			}) {
				r.add(h.file, h.id()+": spec.metrics", "want a CPU Resource metric (rendering is CPU-bound)")
			}
		}
		if hpa == nil {
			r.add(file, w.obj.id(), "no HorizontalPodAutoscaler targets %s %s", w.obj.Kind, name)
		}
	case slices.Contains(w.roles, config.RolePlayout):
		// Playout airs every live session: two at once air every clip twice.
		if w.spec.Replicas == nil || *w.spec.Replicas != 1 {
			r.add(file, w.obj.id()+": spec.replicas", "playout airs every live session: run exactly 1 replica")
		}
		if w.obj.Kind == "Deployment" && w.spec.Strategy.Type != "Recreate" {
			r.add(file, w.obj.id()+": spec.strategy.type", "%q: want Recreate, so that a rollout never runs two playouts at once", w.spec.Strategy.Type)
		}
	}
}

// checkHLSVolume checks that playout and the api share the HLS directory
// when they run in different pods.
func checkHLSVolume(r *report, loads []workload, pvcs map[string]object) {
	claimAt := func(w workload) (claim string) {
		hlsDir := path.Join(w.cfg.DataDir, "hls")
		for _, m := range w.c.VolumeMounts {
			if m.MountPath != hlsDir && m.MountPath != w.cfg.DataDir {
				continue
			}
			for _, v := range w.obj.specVolumes() {
				if v["name"] != m.Name {
					continue
				}
				if pvc, ok := v["persistentVolumeClaim"].(map[string]any); ok {
					claim, _ = pvc["claimName"].(string)
				}
			}
		}
		return claim
	}
	var players, apis []workload
	for _, w := range loads {
		hasAPI, hasPlayout := slices.Contains(w.roles, config.RoleAPI), slices.Contains(w.roles, config.RolePlayout)
		switch {
		case hasAPI && hasPlayout:
			continue
		case hasAPI:
			apis = append(apis, w)
		case hasPlayout:
			players = append(players, w)
		}
	}
	for _, p := range players {
		claim := claimAt(p)
		hls := path.Join(p.cfg.DataDir, "hls")
		if claim == "" {
			r.add(p.obj.file, p.key+".volumeMounts", "playout writes HLS under %s: mount the PersistentVolumeClaim the api serves it from", hls)
			continue
		}
		pvc, ok := pvcs[claim]
		if !ok {
			r.add(p.obj.file, p.key+".volumes", "no PersistentVolumeClaim %q among the manifests", claim)
		} else {
			var s struct {
				AccessModes []string `yaml:"accessModes"`
			}
			if err := pvc.Spec.Decode(&s); err != nil || !slices.Contains(s.AccessModes, "ReadWriteMany") {
				r.add(pvc.file, pvc.id()+": spec.accessModes", "%v: want ReadWriteMany, since playout and the api replicas may run on different nodes", s.AccessModes)
			}
		}
		for _, a := range apis {
			if got := claimAt(a); got != claim {
				r.add(a.obj.file, a.key+".volumeMounts", "the api serves the HLS playout writes: mount claim %q at %s (mounted: %q)", claim, path.Join(a.cfg.DataDir, "hls"), got)
			}
		}
	}
}

// specVolumes returns the pod volumes of a workload object.
func (o object) specVolumes() []map[string]any {
	var s deploymentSpec
	if err := o.Spec.Decode(&s); err != nil {
		return nil
	}
	return s.Template.Spec.Volumes
}
