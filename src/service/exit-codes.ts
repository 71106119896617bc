/** routesync's exit codes; README "Exit codes" explains each. */
export const EXIT = { ok: 0, runtime: 1, usage: 2, unrouted: 3, otherLeader: 4 } as const;
