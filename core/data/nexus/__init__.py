"""NeXus HDF5 files from the data Redis, as BLISS writes them (DESIGN.md §5).

    service = WriterService(data_redis, sessions=None).start()   # every session
    writer = ScanWriter(ScanReader(data_redis, key)); writer.run()  # one scan

One file per dataset (the scan info's `filename`), one NXentry `<scan_nb>.1` per scan.
"""

from .entry import create_skeleton, entry_name, finalize, is_complete
from .h5files import open_for_write, recover
from .naming import ChannelPlace, default_plot, places
from .scan_writer import ScanAbandoned, ScanWriteError, ScanWriter, WriteState, wants_nexus
from .service import WriterService

__all__ = ["ChannelPlace", "ScanAbandoned", "ScanWriteError", "ScanWriter", "WriteState", "WriterService", "create_skeleton",
           "default_plot", "entry_name", "finalize", "is_complete", "open_for_write", "places", "recover",
           "wants_nexus"]
