/**
 * Builds firmware into a `.devs` image with the pinned DeviceScript CLI,
 * without touching the repository's own `.devicescript/` (the CLI always
 * writes `<cwd>/.devicescript/bin`, and other tools build there): each build
 * runs in its own temporary copy of the project (see `shadowProject`).
 */
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import {
    existsSync,
    readdirSync,
    readFileSync,
    renameSync,
    rmSync,
    writeFileSync,
} from "node:fs"
import { isAbsolute, join, relative, resolve } from "node:path"
import { devs, projectRoot, shadowProject } from "./devs.ts"

export interface BuildOptions {
    /** entry file inside the repository (default `src/main.ts`) */
    entry?: string
    /**
     * board id: the program is built with `import { pins } from
     * "@dsboard/<id>"` first (`devs build` has no board flag; a named import,
     * because a bare one compiles even for a board that does not exist)
     */
    board?: string
    /** release version `x.y.z`: the firmware reports `vx.y.z` */
    version?: string
}

export interface BuildResult {
    ok: boolean
    /** the compiled program (`.devs`), when ok */
    bytecode?: Buffer
    /** everything the CLI printed */
    output: string
}

/**
 * Environment variable naming a directory for build results: with it set,
 * `tryBuildFirmware` keeps each result there under a hash of its options
 * and of every file the build reads from the repository, and a build with
 * the same hash is read back instead of compiled again. `npm test` sets it
 * to a fresh directory for the run, so each distinct program is compiled
 * once per run (the host test files build the same fixtures and boards).
 */
export const BUILD_CACHE_ENV = "DEVS_BUILD_CACHE"

/** Repository inputs of a build besides the entry (which is hashed too). */
const BUILD_INPUTS = [
    "src",
    "boards",
    "test/fixtures",
    "package.json",
    "devsconfig.json",
    "node_modules/@devicescript/cli/package.json",
]

function hashInputs(o: BuildOptions, entry: string): string {
    const h = createHash("sha256")
    h.update(JSON.stringify([o.board ?? null, o.version ?? null, entry]))
    const add = (rel: string) => {
        const abs = join(projectRoot, rel)
        if (!existsSync(abs)) return h.update(`\0missing ${rel}\0`)
        const dirents = (() => {
            try {
                return readdirSync(abs, { withFileTypes: true })
            } catch {
                return undefined
            }
        })()
        if (!dirents) {
            h.update(`\0file ${rel}\0`)
            h.update(readFileSync(abs))
            return
        }
        for (const d of dirents.map(d => d.name).sort()) add(join(rel, d))
    }
    for (const rel of [...BUILD_INPUTS, entry]) add(rel)
    return h.digest("hex")
}

interface CachedBuild {
    ok: boolean
    output: string
    bytecode?: string
}

/** Builds; a compile error is a result (`ok: false`), not an exception. */
export async function tryBuildFirmware(
    o: BuildOptions = {}
): Promise<BuildResult> {
    const cache = process.env[BUILD_CACHE_ENV]
    if (!cache) return buildUncached(o)
    checkBoard(o)
    const file = join(cache, `${hashInputs(o, entryOf(o))}.json`)
    return buildOnce(file, () => buildUncached(o))
}

/** How often a process waiting for another's build looks for its result. */
const BUILD_WAIT_POLL_MS = 200

/**
 * The cached result in `file`, made by `build` in the first process (or
 * call) that wants it: that one holds `<file>.lock` (its pid) while it
 * builds, and the others wait for the result, or take over when the holder
 * died without one.
 */
export async function buildOnce(
    file: string,
    build: () => Promise<BuildResult>
): Promise<BuildResult> {
    const lock = `${file}.lock`
    for (;;) {
        if (existsSync(file)) return readCachedBuild(file)
        if (takeLock(lock)) {
            try {
                if (existsSync(file)) return readCachedBuild(file)
                const r = await build()
                writeCachedBuild(file, r)
                return r
            } finally {
                rmSync(lock, { force: true })
            }
        }
        if (lockHolderGone(lock)) rmSync(lock, { force: true })
        else await new Promise(r => setTimeout(r, BUILD_WAIT_POLL_MS))
    }
}

function takeLock(lock: string): boolean {
    try {
        writeFileSync(lock, String(process.pid), { flag: "wx" })
        return true
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") return false
        throw e
    }
}

/** Whether the process named in `lock` has ended (a lock being written is held). */
function lockHolderGone(lock: string): boolean {
    let pid: number
    try {
        pid = Number(readFileSync(lock, "utf8"))
    } catch {
        return false // released in the meantime: the loop looks again
    }
    if (!Number.isInteger(pid) || pid <= 0) return false
    try {
        process.kill(pid, 0)
        return false
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "ESRCH"
    }
}

function readCachedBuild(file: string): BuildResult {
    const c: CachedBuild = JSON.parse(readFileSync(file, "utf8"))
    return {
        ok: c.ok,
        output: c.output,
        bytecode:
            c.bytecode === undefined
                ? undefined
                : Buffer.from(c.bytecode, "base64"),
    }
}

function writeCachedBuild(file: string, r: BuildResult) {
    const c: CachedBuild = {
        ok: r.ok,
        output: r.output,
        bytecode: r.bytecode?.toString("base64"),
    }
    // written whole then renamed: a concurrent reader sees all or nothing
    const tmp = `${file}.${process.pid}.tmp`
    writeFileSync(tmp, JSON.stringify(c))
    renameSync(tmp, file)
}

function checkBoard(o: BuildOptions) {
    if (o.board !== undefined && !/^\w+$/.test(o.board))
        throw new RangeError(
            `board id '${o.board}': letters, digits and _ only`
        )
}

/** The entry relative to the repository; throws when outside it. */
function entryOf(o: BuildOptions): string {
    const abs = resolve(projectRoot, o.entry ?? "src/main.ts")
    const entry = relative(projectRoot, abs)
    if (entry.startsWith("..") || isAbsolute(entry))
        throw new RangeError("entry must be inside the repository")
    return entry
}

async function buildUncached(o: BuildOptions): Promise<BuildResult> {
    checkBoard(o)
    let entry = entryOf(o)
    const dir = shadowProject("devs-build-", {
        ownPackageJson: o.version !== undefined,
    })
    try {
        if (o.version !== undefined) {
            const pkg = JSON.parse(
                readFileSync(join(projectRoot, "package.json"), "utf8")
            )
            pkg.version = o.version
            writeFileSync(join(dir, "package.json"), JSON.stringify(pkg))
            tagRelease(dir, o.version)
        }
        if (o.board) {
            const wrapper = `main-${o.board}.ts`
            writeFileSync(
                join(dir, wrapper),
                `import { pins } from "@dsboard/${o.board}"\nimport "./${entry.replace(/\.ts$/, "")}"\n`
            )
            entry = wrapper
        }
        const { code, output } = await devs(["build", entry], { cwd: dir })
        if (code !== 0) return { ok: false, output }
        const bytecode = readFileSync(
            join(dir, ".devicescript/bin/bytecode.devs")
        )
        return { ok: true, bytecode, output }
    } finally {
        rmSync(dir, { recursive: true, force: true })
    }
}

/** Builds `entry` and returns the image; throws with the compiler's output on failure. */
export async function buildFirmware(
    entry = "src/main.ts",
    o: Omit<BuildOptions, "entry"> = {}
): Promise<Buffer> {
    const r = await tryBuildFirmware({ ...o, entry })
    if (!r.ok) throw new Error(`devs build ${entry} failed:\n${r.output}`)
    return r.bytecode!
}

/**
 * Makes `dir` a git checkout at tag `v<version>`: the compiler records a
 * version only inside a git checkout, and exactly the tag's name when the
 * checkout is clean at a `v*` tag (a release build).
 */
function tagRelease(dir: string, version: string) {
    const git = (...args: string[]) =>
        execFileSync("git", args, { cwd: dir, stdio: "pipe" })
    git("init", "-q")
    git("add", "-A")
    git(
        "-c",
        "user.name=firmware build",
        "-c",
        "user.email=firmware-build@localhost",
        "commit",
        "-qm",
        `release ${version}`
    )
    git("tag", `v${version}`)
}
