// What the Go-aware size report knows about one Go executable found in an image: its build info
// (Go version, modules) and its code size attributed to packages and modules from the function
// table (.gopclntab). Produced by analyse.ts from the executable's bytes alone, without Docker.

/**
 * One row of the per-module breakdown: the main module, each dependency, 'std' (the standard
 * library; version is the Go version) and 'other' (runtime data and everything not attributed to a
 * function; version '').
 */
export interface GoModuleSize {
  path: string;
  version: string;
  bytes: number;
  /** The build info's `=>` replacement: a directory, or 'module version'. */
  replacedBy?: string;
}

/** Code size of one package (from the function table); module is the GoModuleSize.path it counts to. */
export interface GoPackageSize {
  path: string;
  module: string;
  bytes: number;
}

export interface GoExecutableSizes {
  /** Path inside the image, e.g. 'app/server'. */
  file: string;
  fileBytes: number;
  /** e.g. 'go1.24.4'. */
  goVersion: string;
  /** Module path of the main package. */
  mainModule: string;
  /** false: build info read, but sizes not attributed (unknown pclntab format, too large, ...). */
  attributed: boolean;
  /** Why not attributed. */
  reason?: string;
  /** Sorted by bytes descending. */
  modules: GoModuleSize[];
  /** Sorted by bytes descending. */
  packages: GoPackageSize[];
}

/** The largest executable held in memory to analyse; larger ones are reported as not attributed. */
export const GO_EXECUTABLE_MEMORY_CAP = 256 * 1024 * 1024;
