"""MLflow "models from code" entry of the pyfunc model that ``train`` logs (nothing is pickled).

MLflow copies this file into the logged model and runs it on ``mlflow.pyfunc.load_model``; the weights
come from the ``model_dir`` artifact through ``stn_plugin.predictor.loading.load_model_dir`` (weights only).
"""

from mlflow.models import set_model

from stn_plugin.training.tracking import StnPyfuncModel

set_model(StnPyfuncModel())
