"""The results summary (結果概要): HTML, PowerPoint and an Excel workbook of the tables, built
from the marts and the codebook."""
