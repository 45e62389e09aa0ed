// The files a build reads, checked before any work so that a wrong path is told with its input:
// the context, the Dockerfile (read bounded and parsed) and the secret files buildx will read.
import path from 'node:path';
import type { Inputs } from '../inputs.ts';
import { checkInputDirectory, checkInputFile, readInputFile } from '../io/files.ts';
import { parseDockerfile, type Dockerfile } from './parse.ts';

export function readBuildFiles(inputs: Inputs): Dockerfile {
  const file = inputs.file || path.join(inputs.context, 'Dockerfile');
  checkInputDirectory('context', inputs.context, 'give the directory to build');
  const text = readInputFile('file', file, {
    maxBytes: 1024 * 1024,
    what: 'the Dockerfile',
    fix: inputs.file ? "give the Dockerfile's path" : 'add a Dockerfile to the context or set file',
  });
  // secret-files are read by buildx; a wrong path is told here, with the input, before any work.
  for (const s of inputs.secretFiles)
    checkInputFile(
      'secret-files',
      s.slice(s.indexOf('=') + 1),
      'give id=path of a file on the runner',
    );
  return parseDockerfile(text, file);
}
