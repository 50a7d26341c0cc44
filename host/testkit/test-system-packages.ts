/**
 * The system programs some host test files need, and getting them before a
 * run: the console's browser tests drive Debian's chromium (puppeteer-core
 * downloads no browser), and the PostgreSQL store tests start a private
 * server from Debian's server binaries. A file needs a package when its
 * imports, followed through the repository's modules (test-imports.ts),
 * reach the module that uses it, so a filtered run that selects none of
 * those files needs neither.
 *
 * When a needed package is missing, `npm test` installs it with apt-get, as
 * root or through `sudo -n` (sudo without a password); when it cannot, it
 * stops and says what to run.
 */
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { findPostgresBin } from "../postgres/find-bin.ts"
import { reaches } from "./test-imports.ts"

const root = join(import.meta.dirname, "../..")

/** Debian's chromium, which the console's browser tests drive. */
export const CHROMIUM = "/usr/bin/chromium"

/** A Debian package that some test files need. */
export interface SystemPackage {
    /** The Debian package. */
    name: string
    /** Which tests need it and what they use of it, for messages. */
    neededBy: string
    /** The module whose importers need the package. */
    usedThrough: string
    /** Whether this machine has what the tests use. */
    present(): boolean
}

/** The Debian packages that test files need, in install order. */
export const SYSTEM_PACKAGES: SystemPackage[] = [
    {
        name: "chromium",
        neededBy: `the console's browser tests (${CHROMIUM})`,
        usedThrough: join(root, "test/host/console-browser.ts"),
        present: () => existsSync(CHROMIUM),
    },
    {
        name: "postgresql",
        neededBy:
            "the PostgreSQL store tests (initdb and pg_ctl, under /usr/lib/postgresql/*/bin or on PATH)",
        usedThrough: join(root, "host/postgres/local-server.ts"),
        present: () => findPostgresBin() !== undefined,
    },
]

/** The packages that any of the test `files` need. */
export function packagesNeeded(
    files: string[],
    packages = SYSTEM_PACKAGES
): SystemPackage[] {
    return packages.filter(p => files.some(f => reaches(f, p.usedThrough)))
}

/** What the machine offers for installing packages. */
export interface InstallMeans {
    /** Running as root. */
    root: boolean
    /** `passwordless`: `sudo -n true` succeeds; `password`: sudo asks. */
    sudo: "passwordless" | "password" | "none"
    /** apt-get is on PATH (a Debian-like system). */
    aptGet: boolean
}

/** What to do about missing packages before a test run. */
export type SetupAction =
    | { kind: "ready" }
    | { kind: "install"; commands: string[][] }
    | { kind: "stop"; message: string }

/**
 * The decision, from the missing packages and the means: nothing to do,
 * the apt-get commands to run (through `sudo -n` when not root), or the
 * message that says what to run by hand.
 */
export function setupAction(
    missing: Pick<SystemPackage, "name" | "neededBy">[],
    means: InstallMeans
): SetupAction {
    if (!missing.length) return { kind: "ready" }
    const names = missing.map(p => p.name).join(" ")
    const lines = [
        "npm test: the selected tests need what this machine lacks:",
        ...missing.map(p => `  ${p.name}: ${p.neededBy}`),
    ]
    const after = [
        "then run npm test again, or only tests that need none of them: npm test -- NAME",
    ]
    if (!means.aptGet)
        return {
            kind: "stop",
            message: [
                ...lines,
                `This machine has no apt-get: install the programs above (Debian packages: ${names}),`,
                ...after,
            ].join("\n"),
        }
    if (!means.root && means.sudo !== "passwordless") {
        const run =
            means.sudo === "password"
                ? `  sudo apt-get update && sudo apt-get install -y ${names}`
                : `  apt-get update && apt-get install -y ${names}`
        const why =
            means.sudo === "password"
                ? "Not root, and sudo asks for a password, so npm test does not install them. Run:"
                : "Not root, and no sudo, so npm test cannot install them. Run as root:"
        return {
            kind: "stop",
            message: [...lines, why, run, ...after].join("\n"),
        }
    }
    const apt = [
        ...(means.root ? [] : ["sudo", "-n"]),
        "env",
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get",
    ]
    return {
        kind: "install",
        commands: [
            [...apt, "update", "-q"],
            [...apt, "install", "-y", "-q", ...missing.map(p => p.name)],
        ],
    }
}

/** Whether `cmd args` runs and exits 0 (output discarded). */
function succeeds(cmd: string, args: string[]): boolean {
    const r = spawnSync(cmd, args, { stdio: "ignore" })
    return !r.error && r.status === 0
}

/** This machine's means of installing packages. */
function installMeans(): InstallMeans {
    const root = process.getuid?.() === 0
    let sudo: InstallMeans["sudo"] = "none"
    if (!root && succeeds("sh", ["-c", "command -v sudo"]))
        sudo = succeeds("sudo", ["-n", "true"]) ? "passwordless" : "password"
    return {
        root,
        sudo,
        aptGet: succeeds("sh", ["-c", "command -v apt-get"]),
    }
}

/**
 * Makes sure the packages the test `files` need are installed, installing
 * the missing ones when it can; prints what it does. False when the run
 * cannot go on (the message is printed).
 */
export function ensureSystemPackages(
    files: string[],
    packages = SYSTEM_PACKAGES
): boolean {
    const needed = packagesNeeded(files, packages)
    const missing = needed.filter(p => !p.present())
    const action = setupAction(
        missing,
        missing.length
            ? installMeans()
            : { root: false, sudo: "none", aptGet: false }
    )
    if (action.kind === "ready") return true
    if (action.kind === "stop") {
        console.error(`\n${action.message}`)
        return false
    }
    console.log(
        `\n# setup: installing ${missing.map(p => p.name).join(", ")} for ${missing.map(p => p.neededBy).join("; ")}`
    )
    for (const [cmd, ...args] of action.commands) {
        console.log(`# setup: ${[cmd, ...args].join(" ")}`)
        const r = spawnSync(cmd, args, { stdio: "inherit" })
        if (r.error || r.status !== 0) {
            console.error(
                `npm test: ${[cmd, ...args].join(" ")} failed (${r.error?.message ?? `exit ${r.status}`}); run it yourself, then npm test again`
            )
            return false
        }
    }
    const still = missing.filter(p => !p.present())
    if (still.length) {
        console.error(
            `npm test: still missing after apt-get install: ${still.map(p => `${p.name} (${p.neededBy})`).join("; ")}`
        )
        return false
    }
    return true
}
