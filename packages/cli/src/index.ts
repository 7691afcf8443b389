// keyless CLI: not implemented yet (see the open issue).
export {};
