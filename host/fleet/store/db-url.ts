/** Database locations in messages: never with their password. */

/** True for a `postgres://` or `postgresql://` URL. */
export function isPostgresUrl(db: string): boolean {
    return /^postgres(ql)?:\/\//i.test(db)
}

/** `host:port/database` of a PostgreSQL URL, for messages (no user, no password). */
export function describeDatabase(url: string): string {
    try {
        const u = new URL(url)
        return `${u.hostname || "localhost"}:${u.port || "5432"}${u.pathname || "/"}`
    } catch {
        return "(unparsable URL)"
    }
}

/** `url` with its password replaced by `***`. */
export function redactUrl(url: string): string {
    try {
        const u = new URL(url)
        if (u.password) u.password = "***"
        return u.toString()
    } catch {
        return "(unparsable URL)"
    }
}
