/**
 * Builds firmware into a `.devs` image with the pinned DeviceScript CLI,
 * without touching the repository's own `.devicescript/` (the CLI always
 * writes `<cwd>/.devicescript/bin`, and other tools build there): each build
 * runs in its own temporary copy of the project (see `shadowProject`).
 */
import { execFileSync } from "node:child_process"
import { readFileSync, rmSync, writeFileSync } from "node:fs"
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

/** Builds; a compile error is a result (`ok: false`), not an exception. */
export async function tryBuildFirmware(
    o: BuildOptions = {}
): Promise<BuildResult> {
    if (o.board !== undefined && !/^\w+$/.test(o.board))
        throw new RangeError(
            `board id '${o.board}': letters, digits and _ only`
        )
    const abs = resolve(projectRoot, o.entry ?? "src/main.ts")
    let entry = relative(projectRoot, abs)
    if (entry.startsWith("..") || isAbsolute(entry))
        throw new RangeError("entry must be inside the repository")
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
