"""Training data: the formats people have, reading and checking files, mixtures, content hashes, and the data tools
(`reins data inspect/convert/sample/split`)."""
