"""Runtime: what every layer may use — data-folder paths, the job control protocol, logging, error types, the message bridge, wording. Imports nothing else of Shoebox."""
