"""atomicfile - write a file whole or not at all (the suite's one way to write results).

write(path, text) writes text to a temporary file in path's directory and renames it over
path, so a reader or a killed run sees the old file or the new one, never a part; on any
error the temporary file is removed and the error raised.  The file gets the mode open()
would give it (0666 less the umask), not mkstemp's 0600.  write_json(path, doc, indent)
does the same for a JSON document, with a final newline.
"""
import json
import os
import tempfile


def umask():
    """The process umask (os.umask can only be read by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write(path, text):
    """Write text (UTF-8) to path atomically, creating its directory; OSError on failure."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix='.' + os.path.basename(path) + '.', suffix='.tmp')
    try:
        os.fchmod(fd, 0o666 & ~umask())
        with os.fdopen(fd, 'w', encoding='utf-8', newline='') as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_json(path, doc, indent=2):
    """write(path, doc as JSON with the given indent and a final newline)."""
    write(path, json.dumps(doc, indent=indent) + '\n')
