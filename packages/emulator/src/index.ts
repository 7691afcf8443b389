// @keyless/emulator: not implemented yet (see the open issue). Nothing is exported until it works.
export {};
